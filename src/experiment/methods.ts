/** The methods an experiment compares, as overrides of `cola train` flags. Every
 * method gets the same epochs, steps and batches (issue #5: equal budgets); a chain
 * only re-partitions those steps into links. */
import type { OptionValues } from '../cli/options.js';

export interface MethodSpec {
  name: string;
  /** The flags this method sets on top of the experiment's shared ones. */
  flags: OptionValues;
}

export const DEFAULT_METHODS = ['full', 'lora', 'cola-l2', 'cola-l3', 'cola-stepdown'];
const HELP = 'full, lora, cola-lN (a chain of N links, N >= 1), cola-stepdown';

/** `stepdownRanks` / `stepdownKnots` configure cola-stepdown (paper: rank 8 for epochs
 * 1-3, then a smaller rank; our default 8,8,4 spreads three links evenly). Returns the
 * spec, or a problem string for the caller to collect. */
export function methodSpec(name: string, stepdownRanks: number[], stepdownKnots: string[] | undefined): MethodSpec | string {
  if (name === 'full' || name === 'lora') return { name, flags: { method: name } };
  const chain = /^cola-l(\d+)$/.exec(name);
  if (chain) {
    const n = Number(chain[1]);
    if (n < 1) return `--methods: ${name} needs at least one link`;
    return { name, flags: { method: 'cola', 'chain-length': n } };
  }
  if (name === 'cola-stepdown') {
    const links = stepdownKnots ? stepdownKnots.length + 1 : stepdownRanks.length;
    return {
      name,
      flags: { method: 'cola', 'chain-length': links, 'link-ranks': stepdownRanks.map(String), knots: stepdownKnots },
    };
  }
  return `--methods: unknown method "${name}" (expected ${HELP})`;
}
