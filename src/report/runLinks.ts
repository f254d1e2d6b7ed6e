/** Derived per-link and per-knot facts of a run: where the knots are, which steps
 * belong to which link, and what each link cost and reached. */
import { median } from './format.js';
import type { EvalEvent, RunData, StepEvent } from './runData.js';

interface LinkSpan {
  index: number;
  start: number;
  end: number;
}

/** Knot steps: the manifest's plan plus any knot the trainer logged (they should agree;
 * a union shows a disagreement instead of hiding it). */
export function knotSteps(run: RunData): number[] {
  const all = [...(run.chain?.knots ?? []), ...run.knots.map((k) => k.step)];
  return [...new Set(all)].sort((a, b) => a - b);
}

/** Last step of the run as planned (manifest), else as reached. */
export function plannedEnd(run: RunData): number {
  const ends = (run.chain?.links ?? []).map((l) => l.end).filter((e): e is number => typeof e === 'number');
  const reached = run.done?.step ?? run.steps.at(-1)?.step ?? 0;
  return ends.reduce((a, b) => Math.max(a, b), reached);
}

/** Link spans [start, end) from the manifest, or from the knots when it is missing. */
export function linkSpans(run: RunData): LinkSpan[] {
  const links = run.chain?.links ?? [];
  if (links.length && links.every((l) => typeof l.start === 'number' && typeof l.end === 'number')) {
    return links.map((l) => ({ index: l.index, start: l.start!, end: l.end! }));
  }
  const bounds = [0, ...knotSteps(run), plannedEnd(run)];
  return bounds.slice(0, -1).map((start, i) => ({ index: i, start, end: bounds[i + 1]! }));
}

/** Logged steps count optimizer steps done (the trainer logs step + 1), so the event
 * at a knot's step closes the link that ended there; events that name their link win. */
function inLink(e: { step: number; link?: number }, span: LinkSpan): boolean {
  return e.link !== undefined ? e.link === span.index : e.step > span.start && e.step <= span.end;
}

interface LinkStats {
  span: LinkSpan;
  steps: number;
  elapsed?: number;
  medianTokensPerS?: number;
  lastLoss?: number;
  lastEval?: EvalEvent;
}

export function linkStats(run: RunData, span: LinkSpan): LinkStats {
  const steps = run.steps.filter((s) => inLink(s, span));
  const before = run.steps.filter((s) => s.step <= span.start && s.elapsed_s !== undefined).at(-1);
  const lastElapsed = steps.filter((s) => s.elapsed_s !== undefined).at(-1)?.elapsed_s;
  return {
    span,
    steps: steps.length,
    elapsed: lastElapsed === undefined ? undefined : lastElapsed - (before?.elapsed_s ?? 0),
    medianTokensPerS: median(values(steps, 'tokens_per_s')),
    lastLoss: steps.filter((s) => s.loss !== undefined).at(-1)?.loss,
    lastEval: run.evals.filter((e) => inLink(e, span)).at(-1),
  };
}

export function values(steps: StepEvent[], key: keyof StepEvent): number[] {
  return steps.map((s) => s[key]).filter((v): v is number => v !== undefined);
}

/** All dev_* metric names seen, in first-seen order. */
export function devKeys(run: RunData): string[] {
  return [...new Set(run.evals.flatMap((e) => Object.keys(e.metrics)))];
}
