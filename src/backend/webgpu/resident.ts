// Frozen weights kept on the GPU across calls (issue 20): a weight is uploaded once
// and later calls bind the GPU worker's buffer instead of copying the array again.
// Two kinds, both frozen by contract, so no content check is needed:
// - `packMatmulB` copies: tensor/ops/packedWeight.ts asks for one per frozen weight
//   and use (forward, input gradient) and asks again when the weight's write version
//   moves (the caller owns invalidation); the handle it gets is an empty typed array
//   that names the kept buffer;
// - quantized weights: QuantWeight's arrays are never written after quantize()
//   (requantize makes a new weight), so their codes and scales are kept by identity.
// When a handle (or a QuantWeight's data) is garbage-collected, its buffers are
// released with the next call (FinalizationRegistry).

import type { FloatArray } from '../backend.js';

/** A packMatmulB copy kept on the GPU: B as passed (k x n, or n x k when transB). */
export interface KeptB {
  id: number;
  source: FloatArray;
  k: number;
  n: number;
  transB: boolean;
  /** stored as f16 on the GPU (WebGpuOptions.weightStorage) */
  f16: boolean;
  /** uploaded already (the first call that binds it uploads it) */
  uploaded: boolean;
}

/** A quantized weight's codes (and f32 scales) kept on the GPU. */
export interface KeptQuant {
  codes: number;
  scales: number | null;
  uploaded: boolean;
}

export class ResidentWeights {
  private nextId = 1;
  private readonly pending: number[] = [];
  private readonly registry = new FinalizationRegistry<number[]>((ids) => this.pending.push(...ids));
  private readonly packs = new WeakMap<FloatArray, KeptB>();
  private readonly quants = new WeakMap<Uint8Array, KeptQuant>();
  /** buffers kept now (not yet released) */
  live = 0;

  /** A handle for B (what packMatmulB returns): an empty array of b's dtype (f32 for `asF32`). */
  pack(source: FloatArray, k: number, n: number, transB: boolean, asF32: boolean, f16: boolean): FloatArray {
    const handle: FloatArray = asF32 || source instanceof Float32Array ? new Float32Array(0) : new Uint16Array(0);
    const id = this.nextId++;
    this.packs.set(handle, { id, source, k, n, transB, f16, uploaded: false });
    this.track(handle, [id]);
    return handle;
  }

  /** The kept B a `bPacked` handle names, or undefined (not ours: the plain path runs). */
  packed(handle: FloatArray | null | undefined): KeptB | undefined {
    return handle ? this.packs.get(handle) : undefined;
  }

  /** The kept buffers of a quantized weight (made on first use). */
  quant(data: Uint8Array, hasScales: boolean): KeptQuant {
    let q = this.quants.get(data);
    if (!q) {
      q = { codes: this.nextId++, scales: hasScales ? this.nextId++ : null, uploaded: false };
      this.quants.set(data, q);
      this.track(data, q.scales === null ? [q.codes] : [q.codes, q.scales]);
    }
    return q;
  }

  /** Ids whose arrays were collected since the last call (the GPU worker frees them). */
  takeReleased(): number[] {
    const ids = this.pending.splice(0);
    this.live -= ids.length;
    return ids;
  }

  private track(owner: object, ids: number[]): void {
    this.live += ids.length;
    this.registry.register(owner, ids);
  }
}

/** A quantized weight's bytes as u32 words (little-endian, zero-padded): how the
 * WGSL decoder reads them (kernels/quantMatmul.ts byteAt). */
export function codeWords(data: Uint8Array): Int32Array {
  const words = new Int32Array(Math.ceil(data.length / 4));
  new Uint8Array(words.buffer).set(data);
  return words;
}
