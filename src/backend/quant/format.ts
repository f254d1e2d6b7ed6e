/** Quantized frozen weights (issue 17): the formats, their block layouts and sizes.
 *
 * A weight W [rows = out, cols = in] is quantized row by row, in blocks along the row
 * (the reduction dimension of x W^T, as GGUF and bitsandbytes do):
 * - `int8`: one f32 scale per row (absmax / 127), codes int8 (LLM.int8's vector-wise
 *   quantization without the outlier split).
 * - `nf4`: QLoRA's 4-bit NormalFloat (Dettmers et al. 2023, §3) in blocks of 64, one f32
 *   absmax per block; two codes a byte, the first element in the high nibble (bitsandbytes).
 * - `q8_0`: GGUF's Q8_0, blocks of 32: an f16 scale d then 32 int8 codes, value q * d.
 * - `q4_0`: GGUF's Q4_0, blocks of 32: an f16 scale d then 16 bytes, value (q - 8) * d,
 *   element j < 16 in the low nibble of byte j, element j + 16 in its high nibble.
 * - `int8g`: int8 codes with one f32 scale per group of `groupSize` values along the row
 *   (llama2.c's version 2 "Q8_0" layout, runq.c: value q * s in f32). It exists so a
 *   llama2.c int8 checkpoint loads bit-exactly (its group scales are f32, which GGUF's
 *   f16-scaled q8_0 cannot hold); `--quantize` does not offer it (q8_0 is the same size).
 * q8_0 and q4_0 keep their scales inline, so a row whose length is a multiple of 32 is
 * byte for byte GGUF's. A row whose length is not a multiple of the block is padded
 * with zeros to whole blocks (the padding quantizes to 0 and never reaches a product),
 * so every linear layer of every model can be quantized. */

export type QuantFormat = 'int8' | 'nf4' | 'q8_0' | 'q4_0' | 'int8g';
/** The formats `--quantize` (and loadPretrained's `quantize`) offers. */
export const QUANT_FORMATS: readonly QuantFormat[] = ['int8', 'nf4', 'q8_0', 'q4_0'];
/** Every format a QuantWeight may hold: QUANT_FORMATS and `int8g` (llama2.c int8 files). */
export const ALL_QUANT_FORMATS: readonly QuantFormat[] = [...QUANT_FORMATS, 'int8g'];

/** int8g's group when none is given (llama2.c export.py's default group_size). */
export const INT8G_DEFAULT_GROUP = 64;
/** The largest int8g group accepted (a bound on what a file header may ask for). */
export const INT8G_MAX_GROUP = 1 << 20;

/** QLoRA's double quantization of NF4's block absmax scales (Dettmers et al. 2023, §3):
 * the f32 scales s (rows x blocksPerRow, row-major) minus their mean `offset`, quantized
 * again in groups of 256 consecutive scales: an int8 code per scale, an f32 factor per
 * group (absmax / 127, round half away as int8). A scale decodes as
 * fround(fround(code * factors[i / 256]) + offset). bitsandbytes stores the codes with its
 * dynamic 8-bit map instead of a linear one: same size (8 bits per 64 weights + 32 per
 * 16384), not the same bytes. */
export interface DoubleQuantScales {
  /** one int8 code per nf4 block */
  readonly codes: Int8Array;
  /** one f32 factor per group of DOUBLE_QUANT_GROUP codes */
  readonly factors: Float32Array;
  /** the mean of the f32 scales, subtracted before quantizing them */
  readonly offset: number;
}

/** Scales per second-level group (QLoRA: blocksize 256). */
export const DOUBLE_QUANT_GROUP = 256;

export interface QuantWeight {
  readonly format: QuantFormat;
  /** output features (rows of W) */
  readonly rows: number;
  /** input features (columns of W) */
  readonly cols: number;
  /** rows x rowBytes: the codes (and, for q8_0 / q4_0, GGUF's inline f16 scales) */
  readonly data: Uint8Array;
  /** int8g only: values per group (a positive integer); absent for the other formats */
  readonly groupSize?: number;
  /** f32 scales: int8 one per row; nf4 and int8g one per block (rows x blocksPerRow);
   * null for q8_0 and q4_0, and for nf4 with `doubleQuant` */
  readonly scales: Float32Array | null;
  /** nf4 only: the block scales double-quantized (then `scales` is null) */
  readonly doubleQuant?: DoubleQuantScales;
}

/** Options of quantize() (codec.ts, Backend.quantize). */
export interface QuantizeOptions {
  /** nf4: double-quantize the block scales (QLoRA; bitsandbytes' bnb_4bit_use_double_quant) */
  doubleQuant?: boolean;
  /** int8g: values per group (default INT8G_DEFAULT_GROUP); refused for other formats */
  groupSize?: number;
}

export interface QuantLayout {
  /** elements per block (a row of int8 is one block) */
  block: number;
  /** bytes per block in `data` */
  blockBytes: number;
  /** f32 scales per block in `scales` (0: inline or per row) */
  scalesPerBlock: number;
}

/** The block layout of a format for rows of `cols` elements (`group`: int8g's groupSize). */
export function quantLayout(format: QuantFormat, cols: number, group = INT8G_DEFAULT_GROUP): QuantLayout {
  switch (format) {
    case 'int8g':
      return { block: group, blockBytes: group, scalesPerBlock: 1 };
    case 'int8':
      return { block: Math.max(cols, 1), blockBytes: Math.max(cols, 1), scalesPerBlock: 1 };
    case 'nf4':
      return { block: 64, blockBytes: 32, scalesPerBlock: 1 };
    case 'q8_0':
      return { block: 32, blockBytes: 34, scalesPerBlock: 0 };
    case 'q4_0':
      return { block: 32, blockBytes: 18, scalesPerBlock: 0 };
  }
}

export function blocksPerRow(format: QuantFormat, cols: number, group?: number): number {
  return Math.ceil(cols / quantLayout(format, cols, group).block);
}

export function rowBytes(format: QuantFormat, cols: number, group?: number): number {
  return blocksPerRow(format, cols, group) * quantLayout(format, cols, group).blockBytes;
}

/** Length of `scales` (0 when the format keeps its scales inline). */
export function scaleCount(format: QuantFormat, rows: number, cols: number, group?: number): number {
  return rows * blocksPerRow(format, cols, group) * quantLayout(format, cols, group).scalesPerBlock;
}

/** Bytes a [rows, cols] weight takes quantized (codes + scales), for memory estimates;
 * `doubleQuant` (nf4): one byte per block scale and an f32 per 256 of them instead;
 * `group`: int8g's groupSize. */
export function quantBytes(format: QuantFormat, rows: number, cols: number, doubleQuant = false, group?: number): number {
  const ns = scaleCount(format, rows, cols, group);
  const scaleBytes = doubleQuant && format === 'nf4' ? ns + 4 * Math.ceil(ns / DOUBLE_QUANT_GROUP) : 4 * ns;
  return rows * rowBytes(format, cols, group) + scaleBytes;
}

/** Throws unless `w`'s arrays have exactly the sizes its format and shape imply (a
 * weight from outside, e.g. a file, is checked before a kernel reads it). */
export function checkQuantWeight(w: QuantWeight, where: string): void {
  if (!ALL_QUANT_FORMATS.includes(w.format)) throw new RangeError(`${where}: unknown quantization format ${String(w.format)}`);
  if (!Number.isInteger(w.rows) || !Number.isInteger(w.cols) || w.rows < 1 || w.cols < 1)
    throw new RangeError(`${where}: rows and cols must be positive integers, got ${w.rows} x ${w.cols}`);
  checkGroupSize(w.format, w.groupSize, where);
  const g = w.groupSize;
  if (!(w.data instanceof Uint8Array) || w.data.length !== w.rows * rowBytes(w.format, w.cols, g))
    throw new RangeError(
      `${where}: ${w.format} data of a ${w.rows} x ${w.cols} weight must be ${w.rows * rowBytes(w.format, w.cols, g)} bytes`,
    );
  const ns = scaleCount(w.format, w.rows, w.cols, g);
  if (w.doubleQuant !== undefined) {
    if (w.format !== 'nf4') throw new RangeError(`${where}: double quantization is for nf4 scales, not ${w.format}`);
    const dq = w.doubleQuant;
    const groups = Math.ceil(ns / DOUBLE_QUANT_GROUP);
    if (w.scales !== null) throw new RangeError(`${where}: a double-quantized nf4 weight has scales null (they are in doubleQuant)`);
    if (!(dq.codes instanceof Int8Array) || dq.codes.length !== ns || !(dq.factors instanceof Float32Array) || dq.factors.length !== groups)
      throw new RangeError(
        `${where}: doubleQuant of a ${w.rows} x ${w.cols} nf4 weight must hold ${ns} int8 codes and ${groups} f32 factors`,
      );
    if (typeof dq.offset !== 'number' || !Number.isFinite(dq.offset))
      throw new RangeError(`${where}: doubleQuant.offset must be a finite number`);
    return;
  }
  if (ns === 0 ? w.scales !== null : !(w.scales instanceof Float32Array) || w.scales.length !== ns)
    throw new RangeError(`${where}: ${w.format} scales of a ${w.rows} x ${w.cols} weight must be ${ns ? `${ns} f32 values` : 'null'}`);
}

/** Throws unless `groupSize` fits `format`: a positive integer up to INT8G_MAX_GROUP for
 * int8g (required there), absent for every other format. */
export function checkGroupSize(format: QuantFormat, groupSize: number | undefined, where: string): void {
  if (format !== 'int8g') {
    if (groupSize !== undefined) throw new RangeError(`${where}: groupSize is int8g's, not ${format}'s (drop it)`);
    return;
  }
  if (typeof groupSize !== 'number' || !Number.isInteger(groupSize) || groupSize < 1 || groupSize > INT8G_MAX_GROUP)
    throw new RangeError(`${where}: an int8g weight needs groupSize, an integer in 1..${INT8G_MAX_GROUP}, got ${String(groupSize)}`);
}

/** QLoRA's 16 NF4 levels (bitsandbytes' table, Dettmers et al. 2023 appendix E):
 * quantiles of N(0, 1) normalized to [-1, 1], with an exact 0. */
export const NF4_LEVELS: readonly number[] = [
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334, -0.09105003625154495,
  0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
  0.7229568362236023, 1.0,
];
