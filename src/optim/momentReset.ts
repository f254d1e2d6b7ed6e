// What happens to Adam's moments at a knot. The COLA paper resets the optimizer
// fully (a new AdamW per link, method.md sec. 2); ReLoRA (Lialin et al. 2023,
// arXiv 2307.05695) keeps the moments but prunes most of them (its default:
// magnitude pruning of 99%, our --method relora preset).

import { ColaError } from '../errors.js';
import { mulberry32 } from '../tensor/random.js';
import type { AdamW } from './adamw.js';

/** full = the paper's reset (nothing carried); none = moments and step count carried
 * unchanged; magnitude / random = ReLoRA's pruning of a fraction `ratio` of every
 * moment tensor before carrying it. */
export type MomentReset = { kind: 'full' } | { kind: 'none' } | { kind: 'magnitude' | 'random'; ratio: number };

/** Adam state lifted off one optimizer to be installed into the next one. */
export interface CarriedMoments {
  m: Float32Array[];
  v: Float32Array[];
  /** the bias-correction step count: ReLoRA keeps counting across resets */
  t: number;
}

/** Parses 'full', 'none', 'magnitude:P' or 'random:P' with P in [0, 1]; `where` names
 * the flag or config key in the error. */
export function parseMomentReset(text: string, where: string): MomentReset {
  if (text === 'full' || text === 'none') return { kind: text };
  const m = /^(magnitude|random):(\d+(?:\.\d*)?|\.\d+)$/.exec(text);
  const ratio = m ? Number(m[2]) : NaN;
  if (m && ratio >= 0 && ratio <= 1) return { kind: m[1] as 'magnitude' | 'random', ratio };
  throw new ColaError(`${where}: expected full, none, magnitude:P or random:P with P in [0, 1], got "${text}"`);
}

/** Copies of `opt`'s moments after `reset` (the optimizer itself is left as it is);
 * null for 'full', which carries nothing.
 * Pruning zeroes exactly floor(ratio * n) entries of each of the m and v tensors
 * (n = its length), each tensor on its own as in ReLoRA's optimizer reset:
 * - magnitude: the entries of smallest |x| (ties: the lower index first). ReLoRA's
 *   magnitude_pruning zeroes |x| <= torch.quantile(|x|, ratio), the same count up to
 *   ties and interpolation; an exact count keeps the rule checkable by hand.
 * - random: a uniformly random subset of that size, drawn from mulberry32(seed)
 *   tensor after tensor (m in order, then v), so the same seed prunes the same
 *   entries. ReLoRA's random_pruning keeps each entry with probability 1 - ratio,
 *   whose count varies from run to run; here only the positions are random. */
export function carryMoments(opt: AdamW, reset: MomentReset, seed: number): CarriedMoments | null {
  if (reset.kind === 'full') return null;
  const carried = { m: opt.m.map((x) => x.slice()), v: opt.v.map((x) => x.slice()), t: opt.t };
  if (reset.kind === 'none') return carried;
  const rng = mulberry32(seed);
  for (const x of [...carried.m, ...carried.v]) {
    const k = Math.floor(reset.ratio * x.length);
    const chosen = reset.kind === 'magnitude' ? smallestMagnitude(x, k) : randomSubset(x.length, k, rng);
    for (const i of chosen) x[i] = 0;
  }
  return carried;
}

/** Writes carried moments into a freshly built optimizer over the same parameter
 * shapes; every mismatch is listed in the error. */
export function installMoments(opt: AdamW, carried: CarriedMoments): void {
  const problems: string[] = [];
  if (carried.m.length !== opt.m.length || carried.v.length !== opt.v.length)
    problems.push(`${carried.m.length} carried tensors for ${opt.m.length} parameters`);
  else
    opt.m.forEach((x, i) => {
      const [m, v] = [carried.m[i]!.length, carried.v[i]!.length];
      if (m !== x.length || v !== x.length) problems.push(`parameter ${i}: ${x.length} values, carried m ${m} and v ${v}`);
    });
  if (problems.length)
    throw new Error(
      `installMoments: the carried Adam moments do not fit the new optimizer (a rank change needs a full reset): ${problems.join('; ')}`,
    );
  opt.m.forEach((x, i) => x.set(carried.m[i]!));
  opt.v.forEach((x, i) => x.set(carried.v[i]!));
  opt.t = carried.t;
}

/** Indices of the k entries of smallest |x|, ties broken by the lower index. */
function smallestMagnitude(x: Float32Array, k: number): number[] {
  const order = Array.from(x.keys()).sort((a, b) => Math.abs(x[a]!) - Math.abs(x[b]!) || a - b);
  return order.slice(0, k);
}

/** k distinct indices in [0, n), uniform: the first k slots of a partial Fisher-Yates shuffle. */
function randomSubset(n: number, k: number, rng: () => number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng() * (n - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k);
}
