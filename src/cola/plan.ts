import { ColaError } from '../errors.js';
import { patternValue, type LoraConfig } from '../lora/config.js';
import type { RunConfig } from './runConfig.js';

/** One link of the chain: global optimizer steps [start, end), its LoRA rank and peak LR. */
export interface Link {
  index: number;
  start: number;
  end: number;
  rank: number;
  lr: number;
}

export interface PlanOptions {
  totalSteps: number;
  stepsPerEpoch: number;
  /** Number of links, knots evenly spaced over the budget (paper: 1 = LoRA, 2, 3). */
  chainLength?: number;
  /** Explicit knots: "120" (a step) or "1.5e" (an epoch position); overrides chainLength. */
  knots?: string[];
  /** A knot every N steps (ReLoRA). */
  knotEvery?: number;
  rank: number;
  /** Per-link ranks (the paper's step-down, e.g. 8,8,4); the last repeats. */
  linkRanks?: number[];
  lr: number;
  linkLrs?: number[];
}

/** Where the knots fall and what each link trains. Knots are iteration indices
 * (method.md §2); in the paper they sit at epoch boundaries of a 5-epoch budget. */
export function planChain(o: PlanOptions): Link[] {
  const knots = knotSteps(o);
  const bounds = [0, ...knots, o.totalSteps];
  return bounds.slice(0, -1).map((start, i) => ({
    index: i,
    start,
    end: bounds[i + 1]!,
    rank: pick(o.linkRanks, i) ?? o.rank,
    lr: pick(o.linkLrs, i) ?? o.lr,
  }));
}

function pick(list: number[] | undefined, i: number): number | undefined {
  if (!list || list.length === 0) return undefined;
  return list[Math.min(i, list.length - 1)];
}

function knotSteps(o: PlanOptions): number[] {
  let steps: number[];
  if (o.knots && o.knots.length) steps = o.knots.map((k) => parseKnot(k, o.stepsPerEpoch));
  else if (o.knotEvery) steps = Array.from({ length: Math.ceil(o.totalSteps / o.knotEvery) - 1 }, (_, i) => (i + 1) * o.knotEvery!);
  else {
    const L = o.chainLength ?? 1;
    if (!Number.isInteger(L) || L < 1) throw new ColaError(`--chain-length must be a positive integer, got ${L}`);
    steps = Array.from({ length: L - 1 }, (_, i) => Math.round(((i + 1) * o.totalSteps) / L));
  }
  const bad = steps.filter((s, i) => s <= 0 || s >= o.totalSteps || (i > 0 && s <= steps[i - 1]!));
  if (bad.length) {
    throw new ColaError(
      `knots must be increasing steps strictly inside the run (1..${o.totalSteps - 1}); got ${steps.join(', ')}. ` +
        'Fewer links, more epochs, or a smaller batch size give each link at least one step.',
    );
  }
  return steps;
}

function parseKnot(k: string, stepsPerEpoch: number): number {
  const m = /^(\d+(?:\.\d+)?)(e?)$/.exec(k.trim());
  if (!m) throw new ColaError(`knot "${k}": expected a step number (e.g. 120) or an epoch position (e.g. 1.5e)`);
  return m[2] ? Math.round(Number(m[1]) * stepsPerEpoch) : Number(m[1]);
}

/** A run's plan, made once from its config and its number of micro-batches per epoch:
 * the budget in optimizer steps, the links, and the steps at which dev is evaluated. */
export interface RunPlan {
  stepsPerEpoch: number;
  totalSteps: number;
  links: Link[];
  /** Dev evaluations, ascending: at the end of every epoch (MeZO's evaluation_strategy
   * epoch) or every `eval.every` steps, always at the last step, at knots only when
   * asked. The same steps for every method: a chain gets no extra selection points. */
  evalSteps: number[];
}

export function planRun(cfg: RunConfig, microBatchesPerEpoch: number): RunPlan {
  const stepsPerEpoch = Math.max(1, Math.ceil(microBatchesPerEpoch / cfg.budget.gradAccum));
  const totalSteps = cfg.budget.maxSteps ?? Math.max(1, Math.round(cfg.budget.epochs * stepsPerEpoch));
  const links = planChain({
    totalSteps,
    stepsPerEpoch,
    chainLength: cfg.chain.length,
    knots: cfg.chain.knots,
    knotEvery: cfg.chain.knotEvery,
    rank: cfg.lora.r,
    linkRanks: cfg.chain.linkRanks,
    lr: cfg.optim.lr,
    linkLrs: cfg.chain.linkLrs,
  });
  const every = cfg.eval.every > 0 ? cfg.eval.every : stepsPerEpoch;
  const steps = new Set<number>([totalSteps]);
  for (let s = every; s < totalSteps; s += every) steps.add(s);
  if (cfg.eval.atKnots) for (const l of links.slice(1)) steps.add(l.start);
  return { stepsPerEpoch, totalSteps, links, evalSteps: [...steps].sort((a, b) => a - b) };
}

/** The rank of the adapter at `path` in `link`: the LoRA config's rank pattern when one
 * matches (PEFT's rank_pattern), else the link's rank. The one place a rank is decided. */
export function moduleRank(lora: LoraConfig, link: Link, path: string): number {
  return patternValue(lora.rankPattern, path) ?? link.rank;
}
