import type { CausalLM } from './causalLM.js';
import { KvCache } from './kvCache.js';
import { noGrad } from '../tensor/autograd.js';
import { tensor } from '../tensor/ops/creation.js';
import { mulberry32 } from '../tensor/random.js';

export interface SampleOptions {
  maxNewTokens: number;
  /** 0 = greedy */
  temperature: number;
  topK?: number;
  topP?: number;
  seed?: number;
  /** Token ids that end generation. */
  stopIds: number[];
  onToken?(id: number): void;
}

/** Autoregressive decoding with a KV cache: the prompt is run once, then one
 * token at a time. Returns only the generated ids (without the stop token). */
export function generate(model: CausalLM, promptIds: number[], o: SampleOptions): number[] {
  return noGrad(() => {
    const be = model.lmHeadWeight().backend;
    const cache = new KvCache(model.dims.numLayers);
    const rng = mulberry32(o.seed ?? 0);
    const out: number[] = [];
    let input = promptIds;
    const limit = Math.min(o.maxNewTokens, model.dims.maxPositions - promptIds.length);
    for (let i = 0; i < limit; i++) {
      const logits = model.logits(tensor(be, input, [1, input.length], 'i32'), cache).f32;
      const V = model.dims.vocabSize;
      const last = logits.subarray((input.length - 1) * V, input.length * V);
      const id = o.temperature <= 0 ? argmax(last) : sample(last, o, rng);
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
function sample(logits: Float32Array, o: SampleOptions, rng: () => number): number {
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
