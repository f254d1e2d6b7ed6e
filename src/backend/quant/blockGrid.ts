/** One block's quantization grid (issue 17, GPTQ): the scale round-to-nearest gives a
 * block's values, and the code of any value under that fixed scale. GPTQ (Frantar et al.
 * 2022) fixes a group's scale when the group starts, then picks its codes one column at
 * a time from weights that earlier columns' errors have moved; this file lets it do so
 * in every format without changing the format: the scales and codes are the codec's own
 * arithmetic (codec.ts), so a block whose values never move gets exactly the bytes
 * quantize() writes. */
import { halfToFloat, floatToHalf } from '../../io/floatBits.js';
import { absmax, int8Code, nearestNf4, q4Code, writeHalf } from './codec.js';
import { NF4_LEVELS, type QuantFormat } from './format.js';

const f = Math.fround;
const NF4_F32 = Float32Array.from(NF4_LEVELS);

export interface BlockGrid {
  readonly format: QuantFormat;
  /** the scale as the codec computes it (f32; q8_0 and q4_0 store it rounded to f16) */
  readonly scale: number;
  /** the code round-to-nearest gives `v` under this scale, clamped to the format's range */
  code(v: number): number;
  /** what `code` decodes to (the value every kernel multiplies with) */
  value(code: number): number;
}

/** The grid of one block: `values` holds the block's elements zero-padded to the format's
 * block (int8 and int8g: the whole row or group), as codec.ts quantize() sees them. */
export function blockGrid(format: QuantFormat, values: Float32Array): BlockGrid {
  switch (format) {
    case 'int8':
    case 'int8g':
    case 'q8_0': {
      const d = f(absmax(values) / 127);
      const id = d ? f(1 / d) : 0;
      const stored = format === 'q8_0' ? halfToFloat(floatToHalf(d)) : d;
      // | 0: a code of -0 decodes to +0, as its stored byte does
      return { format, scale: d, code: (v) => int8Code(f(f(v) * id)) | 0, value: (q) => f(q * stored) };
    }
    case 'q4_0': {
      let amax = 0;
      let max = 0; // the signed value of largest magnitude (the first one on ties), as ggml
      for (let i = 0; i < values.length; i++) {
        if (amax < Math.abs(values[i]!)) {
          amax = Math.abs(values[i]!);
          max = values[i]!;
        }
      }
      const d = f(max / -8);
      const id = d ? f(1 / d) : 0;
      const stored = halfToFloat(floatToHalf(d));
      return { format, scale: d, code: (v) => q4Code(f(f(f(v) * id) + 8.5)), value: (q) => f((q - 8) * stored) };
    }
    case 'nf4': {
      const amax = f(absmax(values));
      const inv = amax ? 1 / amax : 0;
      return { format, scale: amax, code: (v) => nearestNf4(f(v) * inv), value: (q) => f(NF4_F32[q]! * amax) };
    }
  }
}

/** Writes one block's bytes at data[at] in the format's layout (format.ts): `codes` holds
 * the block's codes (padded positions included); returns the f32 scale for `scales`
 * (int8, int8g, nf4; 0 for q8_0 and q4_0, whose f16 scale is inline). */
export function writeBlock(grid: BlockGrid, codes: ArrayLike<number>, data: Uint8Array, at: number): number {
  const n = codes.length;
  switch (grid.format) {
    case 'int8':
    case 'int8g':
      for (let i = 0; i < n; i++) data[at + i] = codes[i]! & 0xff;
      return grid.scale;
    case 'q8_0':
      writeHalf(data, at, grid.scale);
      for (let i = 0; i < 32; i++) data[at + 2 + i] = codes[i]! & 0xff;
      return 0;
    case 'q4_0':
      writeHalf(data, at, grid.scale);
      for (let j = 0; j < 16; j++) data[at + 2 + j] = codes[j]! | (codes[16 + j]! << 4);
      return 0;
    case 'nf4':
      for (let j = 0; j < 32; j++) data[at + j] = (codes[2 * j]! << 4) | codes[2 * j + 1]!;
      return grid.scale;
  }
}
