/** The JSON half of a chain's checkpoint, typed and checked when read back (a hand-edited
 * or foreign state.json is refused, naming the key, instead of being read with casts). */
import { ColaError } from '../errors.js';
import type { Metrics } from '../eval/evaluate.js';
import type { EarlyStop } from './earlyStop.js';

export interface Best {
  step: number;
  metrics: Metrics;
}

export interface ChainState {
  /** optimizer steps done */
  step: number;
  /** the live optimizer's bias-correction step */
  optimT: number;
  best: Best | null;
  /** dev evaluations in a row without a better value than `best` (early stopping) */
  sinceBest: number;
  /** the early stop, once the run stopped early (a resume then trains nothing) */
  earlyStop: EarlyStop | null;
  /** metrics.jsonl length when the checkpoint was taken (a resume truncates to it) */
  metricsBytes: number;
  /** per merged link, per module path: the rank and alpha its factors were trained with */
  links: Record<string, { r: number; alpha: number }>[];
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** `raw` (parsed state.json) as a ChainState, or a ColaError naming what is wrong. */
export function parseChainState(raw: Record<string, unknown>, file: string): ChainState {
  const bad = (key: string, what: string): never => {
    throw new ColaError(
      `${file}: "${key}" must be ${what}, found ${JSON.stringify(raw[key])}; remove the checkpoint folder to restart the run`,
    );
  };
  if (!isCount(raw['step'])) bad('step', 'a step count');
  if (!isCount(raw['optimT'])) bad('optimT', 'a step count');
  if (!isCount(raw['metricsBytes'])) bad('metricsBytes', 'a byte count');
  const best = raw['best'];
  if (best !== null && best !== undefined) {
    const b = best as Best;
    if (typeof b !== 'object' || !isCount(b.step) || typeof b.metrics !== 'object' || b.metrics === null)
      bad('best', '{ step, metrics } or null');
  }
  // absent in checkpoints written before early stopping existed: no count, no stop
  if (raw['sinceBest'] !== undefined && !isCount(raw['sinceBest'])) bad('sinceBest', 'a count of evaluations');
  const stop = raw['earlyStop'] as EarlyStop | null | undefined;
  if (stop !== null && stop !== undefined) {
    if (typeof stop !== 'object' || !isCount(stop.step) || !isCount(stop.bestStep) || !isCount(stop.patience))
      bad('earlyStop', '{ step, bestStep, patience } or null');
  }
  const links = raw['links'];
  if (!Array.isArray(links)) bad('links', 'a list');
  for (const link of links as unknown[]) {
    if (typeof link !== 'object' || link === null) bad('links', 'a list of {path: {r, alpha}}');
    for (const f of Object.values(link as object) as { r: unknown; alpha: unknown }[]) {
      if (typeof f !== 'object' || !isCount(f.r) || f.r === 0 || typeof f.alpha !== 'number') bad('links', 'a list of {path: {r, alpha}}');
    }
  }
  return {
    step: raw['step'] as number,
    optimT: raw['optimT'] as number,
    best: (best as Best | undefined) ?? null,
    sinceBest: (raw['sinceBest'] as number | undefined) ?? 0,
    earlyStop: stop ?? null,
    metricsBytes: raw['metricsBytes'] as number,
    links: links as ChainState['links'],
  };
}
