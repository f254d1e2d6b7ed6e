// The studio's settings as `cola train` flags and as fineTune() options: one table, so the
// page runs exactly what `cola train --backend reference <these flags>` runs (the
// end-to-end test replays them). Flags a method does not use are left out (cola refuses them).
import type { StudioSettings } from './protocol.js';

export interface StudioRunOptions {
  method: StudioSettings['method'];
  maxSteps: number;
  seed: number;
  lr: number;
  rank: number;
  batchSize: number;
  maxLength: number;
  chainLength?: number;
  linkRanks?: number[];
  knotEvery?: number;
}

export function runOptions(s: StudioSettings): StudioRunOptions {
  const common = {
    method: s.method,
    maxSteps: s.steps,
    seed: s.seed,
    lr: s.lr,
    rank: s.rank,
    batchSize: s.batchSize,
    maxLength: s.maxLength,
  };
  const ranks = s.linkRanks.length ? { linkRanks: s.linkRanks } : {};
  if (s.method === 'cola') return { ...common, chainLength: s.chainLength, ...ranks };
  if (s.method === 'relora') return { ...common, knotEvery: s.knotEvery, ...ranks };
  return common;
}

const FLAG: Record<keyof StudioRunOptions, string> = {
  method: '--method',
  maxSteps: '--max-steps',
  seed: '--seed',
  lr: '--lr',
  rank: '--rank',
  batchSize: '--batch-size',
  maxLength: '--max-length',
  chainLength: '--chain-length',
  linkRanks: '--link-ranks',
  knotEvery: '--knot-every',
};

/** The same run as `cola train` flags (without --model, --data, --out). */
export function trainArgs(o: StudioRunOptions): string[] {
  return (Object.keys(FLAG) as (keyof StudioRunOptions)[]).flatMap((k) => {
    const v = o[k];
    if (v === undefined) return [];
    return [FLAG[k], Array.isArray(v) ? v.join(',') : String(v)];
  });
}
