/** A model's identity, independent of where its folder lies: what `cola train --resume`
 * and `cola eval --run` compare to know they hold the run's own base model (issue 16: a
 * resume accepted another model of the same shapes).
 *
 * The hash covers the config (config.json as loaded), every parameter's name and shape,
 * and a strided sample of its values. The values are needed: two fine-tunes of one
 * architecture have byte-equal configs and safetensors headers. A sample (not every
 * byte) keeps it cheap on a 7B model; a model that differs from the run's in only a
 * few unsampled weights passes, which is the trade-off taken. Values are hashed as
 * bf16 bits (f32 rounded to nearest even), so a checkpoint loaded in f32 or bf16 has
 * one identity; the load dtype is recorded and compared on its own.
 *
 * A quantized layer (issue 17: --quantize, a Q8_0 GGUF, a llama2.c int8 file) holds its
 * weight as codes outside the parameters: the hash covers its format, shape, group size,
 * whether its scales are double-quantized, and strided samples of its code bytes and of
 * its scales (all of a double-quantized weight's offset), so an adapter trained on one
 * quantized base is not taken for one of another format or of other weights. */
import { createHash } from 'node:crypto';
import type { QuantWeight } from '../backend/quant/format.js';
import { f32ToBf16 } from '../io/floatBits.js';
import { QuantizedLinear } from '../nn/quantizedLinear.js';
import type { CausalLM } from './causalLM.js';

/** Values sampled per parameter tensor. */
const SAMPLES_PER_TENSOR = 256;

/** "sha256:<hex>" of the model's config, parameter names, shapes and sampled values.
 * Call it on the base model, before adapters are injected or merged. */
export function modelIdentity(model: CausalLM): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(sortedKeys(model.config)));
  for (const [name, t] of model.namedParameters()) {
    h.update(`\n${name}[${t.shape.join(',')}]`);
    if (t.dtype === 'i32') continue;
    const n = t.size;
    const count = Math.min(n, SAMPLES_PER_TENSOR);
    const picked = new Float32Array(count);
    const bits = new Uint16Array(count);
    for (let i = 0; i < count; i++) {
      const at = Math.floor((i * n) / count);
      if (t.dtype === 'bf16') bits[i] = (t.data as Uint16Array)[at]!;
      else picked[i] = (t.data as Float32Array)[at]!;
    }
    const sample = t.dtype === 'bf16' ? bits : f32ToBf16(picked);
    h.update(new Uint8Array(sample.buffer, sample.byteOffset, sample.byteLength));
  }
  for (const [name, m] of model.namedModules()) if (m instanceof QuantizedLinear) hashQuantized(h, name, m.weight);
  return `sha256:${h.digest('hex')}`;
}

/** A quantized weight's layout and sampled codes and scales (f32 bits, unrounded). */
function hashQuantized(h: ReturnType<typeof createHash>, name: string, w: QuantWeight): void {
  const dq = w.doubleQuant;
  h.update(`\n${name}:${w.format}[${w.rows},${w.cols}]g${w.groupSize ?? 0}${dq ? `dq${dq.offset}` : ''}`);
  h.update(strided(w.data));
  if (w.scales) h.update(strided(new Uint8Array(w.scales.buffer, w.scales.byteOffset, w.scales.byteLength)));
  if (dq) {
    h.update(strided(new Uint8Array(dq.codes.buffer, dq.codes.byteOffset, dq.codes.length)));
    h.update(strided(new Uint8Array(dq.factors.buffer, dq.factors.byteOffset, dq.factors.byteLength)));
  }
}

/** SAMPLES_PER_TENSOR 4-byte words (whole f32 scales, 4 codes) spread over `bytes`. */
function strided(bytes: Uint8Array): Uint8Array {
  const words = Math.floor(bytes.length / 4);
  const count = Math.min(words, SAMPLES_PER_TENSOR);
  const out = new Uint8Array(4 * count + (bytes.length % 4));
  for (let i = 0; i < count; i++) {
    const at = 4 * Math.floor((i * words) / count);
    out.set(bytes.subarray(at, at + 4), 4 * i);
  }
  out.set(bytes.subarray(4 * words), 4 * count); // the tail under a word
  return out;
}

/** JSON with object keys sorted, so key order in config.json does not change the hash. */
function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.keys(v as Record<string, unknown>)
      .sort()
      .map((k) => [k, sortedKeys((v as Record<string, unknown>)[k])]),
  );
}
