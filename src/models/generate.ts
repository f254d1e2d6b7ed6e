import { ColaError } from '../errors.js';
import type { CausalLM } from './causalLM.js';
import { KvCache } from './kvCache.js';
import { noGrad } from '../tensor/autograd.js';
import { tensor } from '../tensor/ops/creation.js';
import { mulberry32 } from '../tensor/random.js';

export interface SampleOptions {
  /** tokens to generate at most (default 256, as `cola generate`) */
  maxNewTokens?: number;
  /** 0 = greedy (the default); above 0, sampling at this temperature */
  temperature?: number;
  /** sample among the k most likely tokens (0 or unset: all); needs temperature > 0 */
  topK?: number;
  /** nucleus sampling mass in (0, 1]; needs temperature > 0 */
  topP?: number;
  /** sampling seed (default 0) */
  seed?: number;
  /** Token ids that end generation (default none; generateText: the tokenizer's EOS). */
  stopIds?: number[];
  onToken?(id: number): void;
}

/** The defaults of `cola generate`'s flags and of the library alike. */
export const SAMPLE_DEFAULTS = { maxNewTokens: 256, temperature: 0, seed: 0 } as const;

type Resolved = Required<Pick<SampleOptions, 'maxNewTokens' | 'temperature' | 'seed' | 'stopIds'>> & SampleOptions;

/** `o` over the defaults (an option given as undefined takes its default), checked:
 * every problem at once, each named by `name(key)` (the CLI passes its flag names). */
export function resolveSampleOptions(o: SampleOptions, name: (key: string) => string = (k) => k): Resolved {
  const given = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as SampleOptions;
  const r: Resolved = { ...SAMPLE_DEFAULTS, stopIds: [], ...given };
  const p: string[] = [];
  const int = (v: number) => Number.isInteger(v);
  if (!(int(r.maxNewTokens) && r.maxNewTokens >= 1))
    p.push(`${name('maxNewTokens')} must be an integer of at least 1, got ${r.maxNewTokens}`);
  if (!(Number.isFinite(r.temperature) && r.temperature >= 0))
    p.push(`${name('temperature')} must be >= 0 (0: greedy), got ${r.temperature}`);
  if (r.topK !== undefined && !(int(r.topK) && r.topK >= 0))
    p.push(`${name('topK')} must be an integer of at least 0 (0: off), got ${r.topK}`);
  if (r.topP !== undefined && !(r.topP > 0 && r.topP <= 1)) p.push(`${name('topP')} must be in (0, 1], got ${r.topP}`);
  if (!int(r.seed)) p.push(`${name('seed')} must be an integer, got ${r.seed}`);
  if (!Array.isArray(r.stopIds) || !r.stopIds.every(int))
    p.push(`${name('stopIds')} must be a list of token ids, got ${JSON.stringify(r.stopIds)}`);
  // greedy decoding never reads them: refuse rather than ignore them in silence
  for (const k of ['topK', 'topP'] as const)
    if (r[k] !== undefined && r.temperature === 0)
      p.push(`${name(k)} applies to sampling, but ${name('temperature')} is 0 (greedy): give a temperature above 0 or drop ${name(k)}`);
  if (p.length) throw new ColaError(p.length === 1 ? p[0]! : `generation options:\n  ${p.join('\n  ')}`);
  return r;
}

/** Autoregressive decoding with a KV cache: the prompt is run once, then one token at a
 * time, until `maxNewTokens`, a stop id or the model's context. Returns only the
 * generated ids (without the stop token). Options not given take SAMPLE_DEFAULTS. */
export function generate(model: CausalLM, promptIds: number[], options: SampleOptions = {}): number[] {
  const o = resolveSampleOptions(options);
  const V = model.dims.vocabSize;
  const ctx = model.dims.maxPositions;
  const bad = promptIds.filter((id) => !(Number.isInteger(id) && id >= 0 && id < V));
  if (promptIds.length === 0) throw new ColaError('generate: the prompt has no tokens; give at least one id (e.g. BOS)');
  if (bad.length)
    throw new ColaError(`generate: prompt ids must be integers in [0, ${V}) (the vocabulary), found ${bad.slice(0, 5).join(', ')}`);
  if (promptIds.length >= ctx)
    throw new ColaError(`generate: the prompt is ${promptIds.length} tokens but the model's context is ${ctx}; shorten the prompt`);
  return noGrad(() => {
    const be = model.lmHeadWeight().backend;
    const cache = new KvCache(model.dims.numLayers);
    const rng = mulberry32(o.seed);
    const out: number[] = [];
    let input = promptIds;
    const limit = Math.min(o.maxNewTokens, ctx - promptIds.length);
    for (let i = 0; i < limit; i++) {
      const logits = model.logits(tensor(be, input, [1, input.length], 'i32'), cache).f32;
      const last = logits.subarray((input.length - 1) * V, input.length * V);
      const id = o.temperature === 0 ? argmax(last) : sample(last, o, rng);
      if (o.stopIds.includes(id)) break;
      out.push(id);
      o.onToken?.(id);
      input = [id];
    }
    return out;
  });
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/** Temperature, then top-k, then top-p (nucleus) filtering, as HF's sampling warpers. */
function sample(logits: Float32Array, o: Resolved, rng: () => number): number {
  const idx = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!);
  let keep = o.topK && o.topK > 0 ? idx.slice(0, o.topK) : idx;
  const max = logits[keep[0]!]!;
  let probs = keep.map((i) => Math.exp((logits[i]! - max) / o.temperature));
  let z = probs.reduce((a, b) => a + b, 0);
  if (o.topP !== undefined && o.topP < 1) {
    let cum = 0;
    let n = 0;
    while (n < probs.length && cum < o.topP) cum += probs[n++]! / z;
    keep = keep.slice(0, Math.max(n, 1));
    probs = probs.slice(0, keep.length);
    z = probs.reduce((a, b) => a + b, 0);
  }
  let u = rng() * z;
  for (let i = 0; i < keep.length; i++) {
    u -= probs[i]!;
    if (u <= 0) return keep[i]!;
  }
  return keep[keep.length - 1]!;
}
