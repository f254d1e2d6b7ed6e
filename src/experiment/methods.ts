/** The methods an experiment compares, as overrides of `cola train` flags. Every
 * method gets the same epochs, steps and batches (issue #5: equal budgets); a chain
 * only re-partitions those steps into links. */
import type { RunFlags } from '../cola/runFlags.js';

export interface MethodSpec {
  name: string;
  /** The train flags this method sets on top of the experiment's shared ones. */
  flags: Partial<RunFlags>;
}

export const DEFAULT_METHODS = ['full', 'lora', 'cola-l2', 'cola-l3', 'cola-stepdown'];
const HELP = 'full, lora, cola-lN (a chain of N links, N >= 1), cola-stepdown';

/** The paper's step-down knot (§4.3: rank 8 for epochs 1-3, then a smaller rank for
 * epochs 4-5): after 3/5 of the epochs, on an epoch boundary when the run has two or more
 * epochs (at least one epoch per link), else at 3/5 of the single epoch's steps. */
export function stepdownKnot(epochs: number): string {
  const whole = Math.floor(epochs);
  if (whole < 2) return `${+(0.6 * epochs).toFixed(6)}e`;
  return `${Math.min(Math.max(1, Math.round((3 * whole) / 5)), whole - 1)}e`;
}

/** `stepdownRanks` / `stepdownKnots` configure cola-stepdown (default: the paper's two
 * links, rank 8 then 4, knot after 3 of 5 epochs). Returns the spec, or a problem
 * string for the caller to collect. */
export function methodSpec(
  name: string,
  stepdownRanks: number[],
  stepdownKnots: string[] | undefined,
  epochs: number,
): MethodSpec | string {
  if (name === 'full' || name === 'lora') return { name, flags: { method: name } };
  const chain = /^cola-l(\d+)$/.exec(name);
  if (chain) {
    const n = Number(chain[1]);
    if (n < 1) return `--methods: ${name} needs at least one link`;
    return { name, flags: { method: 'cola', chainLength: n } };
  }
  if (name === 'cola-stepdown') {
    const knots = stepdownKnots ?? (stepdownRanks.length === 2 ? [stepdownKnot(epochs)] : undefined);
    return {
      name,
      flags: knots
        ? { method: 'cola', knots, linkRanks: stepdownRanks.map(String) }
        : { method: 'cola', chainLength: stepdownRanks.length, linkRanks: stepdownRanks.map(String) },
    };
  }
  return `--methods: unknown method "${name}" (expected ${HELP})`;
}
