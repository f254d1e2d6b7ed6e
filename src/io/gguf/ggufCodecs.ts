/** Tensor data codecs for GGUF, in ggml's own block layouts (ggml-common.h), so the bytes
 * read are the bytes written: F32, F16, BF16 are plain arrays; Q8_0 and Q4_0 are blocks of
 * 32 values with an f16 scale, which is exactly cola's own `q8_0` / `q4_0` quantized-weight
 * format (backend/quant/format.ts). cola has ONE codec for those blocks,
 * backend/quant/codec.ts (ggml's reference quantizers, in float32 arithmetic): io sits below
 * backend, so the caller hands it in as a GgufBlockCodec (models/ggufBlockCodec.ts). */
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../floatBits.js';
import { dequantizeKQuant } from './kQuants.js';
import type { GgmlTypeInfo } from './ggufTypes.js';

/** The GGUF types cola keeps as its own quantized formats (same block bytes). */
export type GgufBlockFormat = 'q8_0' | 'q4_0';

/** Q8_0 / Q4_0 blocks as one flat stream of n values (n a multiple of 32, blocks may cross
 * rows): cola's one block codec (issue 17), given by a layer that may import it. */
export interface GgufBlockCodec {
  decode(format: GgufBlockFormat, blocks: Uint8Array, n: number): Float32Array;
  encode(format: GgufBlockFormat, values: Float32Array): Uint8Array;
}

/** cola's format for a ggml type kept quantized, or null (F32/F16/BF16, K-quants). */
export function ggufBlockFormat(type: GgmlTypeInfo): GgufBlockFormat | null {
  return type.name === 'Q8_0' ? 'q8_0' : type.name === 'Q4_0' ? 'q4_0' : null;
}

/** Decode `n` values stored as `type` into float32 (blocks are one flat stream). */
export function decodeGguf(type: GgmlTypeInfo, bytes: Uint8Array, n: number, codec: GgufBlockCodec): Float32Array {
  switch (type.name) {
    case 'F32':
      return new Float32Array(bytes.slice(0, 4 * n).buffer);
    case 'F16':
      return f16ToF32(u16(bytes, n));
    case 'BF16':
      return bf16ToF32(u16(bytes, n));
    case 'Q8_0':
    case 'Q4_0':
      return codec.decode(ggufBlockFormat(type)!, bytes, n);
    default:
      return dequantizeKQuant(type.name, bytes, n);
  }
}

/** Encode float32 values as `type` (F32, F16, BF16, Q8_0, Q4_0). */
export function encodeGguf(type: GgmlTypeInfo, values: Float32Array, codec: GgufBlockCodec): Uint8Array {
  switch (type.name) {
    case 'F32':
      return new Uint8Array(values.slice().buffer);
    case 'F16':
      return new Uint8Array(f32ToF16(values).buffer);
    case 'BF16':
      return new Uint8Array(f32ToBf16(values).buffer);
    case 'Q8_0':
    case 'Q4_0':
      return codec.encode(ggufBlockFormat(type)!, values);
    default:
      throw new Error(`encodeGguf: cola does not write ${type.name}`);
  }
}

function u16(bytes: Uint8Array, n: number): Uint16Array {
  return new Uint16Array(bytes.slice(0, 2 * n).buffer);
}
