/** The GGUF container's type codes (ggml docs/gguf.md): metadata value types and the ggml
 * tensor types cola knows the block layout of. A block of `blockSize` values takes
 * `typeSize` bytes; a tensor of n values takes n / blockSize * typeSize bytes. */

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS: a tensor info with more dims is not a ggml tensor. */
export const GGUF_MAX_DIMS = 4;

export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** Bytes of one scalar of each fixed-size value type (strings and arrays are variable). */
export const VALUE_BYTES: Partial<Record<GgufValueType, number>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

export interface GgmlTypeInfo {
  id: number;
  name: string;
  blockSize: number;
  typeSize: number;
  /** 'exact': decoded and re-encoded bit for bit; 'dequantize': read as f32 only (K-quants);
   * 'refuse': a known layout cola cannot decode (the size still bounds the file). */
  support: 'exact' | 'dequantize' | 'refuse';
}

const T = (id: number, name: string, blockSize: number, typeSize: number, support: GgmlTypeInfo['support']): GgmlTypeInfo => ({
  id,
  name,
  blockSize,
  typeSize,
  support,
});

/** Sizes as ggml-common.h's block structs (QK_K = 256, K_SCALE_SIZE = 12). */
export const GGML_TYPES: readonly GgmlTypeInfo[] = [
  T(0, 'F32', 1, 4, 'exact'),
  T(1, 'F16', 1, 2, 'exact'),
  T(2, 'Q4_0', 32, 18, 'exact'),
  T(3, 'Q4_1', 32, 20, 'refuse'),
  T(6, 'Q5_0', 32, 22, 'refuse'),
  T(7, 'Q5_1', 32, 24, 'refuse'),
  T(8, 'Q8_0', 32, 34, 'exact'),
  T(9, 'Q8_1', 32, 36, 'refuse'),
  T(10, 'Q2_K', 256, 84, 'refuse'),
  T(11, 'Q3_K', 256, 110, 'refuse'),
  T(12, 'Q4_K', 256, 144, 'dequantize'),
  T(13, 'Q5_K', 256, 176, 'dequantize'),
  T(14, 'Q6_K', 256, 210, 'dequantize'),
  T(15, 'Q8_K', 256, 292, 'dequantize'),
  T(24, 'I8', 1, 1, 'refuse'),
  T(25, 'I16', 1, 2, 'refuse'),
  T(26, 'I32', 1, 4, 'refuse'),
  T(27, 'I64', 1, 8, 'refuse'),
  T(28, 'F64', 1, 8, 'refuse'),
  T(30, 'BF16', 1, 2, 'exact'),
];

/** Type names ggml defines whose layout cola does not know (the IQ and ternary quants). */
const UNSIZED: Record<number, string> = {
  16: 'IQ2_XXS',
  17: 'IQ2_XS',
  18: 'IQ3_XXS',
  19: 'IQ1_S',
  20: 'IQ4_NL',
  21: 'IQ3_S',
  22: 'IQ2_S',
  23: 'IQ4_XS',
  29: 'IQ1_M',
  34: 'TQ1_0',
  35: 'TQ2_0',
  39: 'MXFP4',
};

const BY_ID = new Map(GGML_TYPES.map((t) => [t.id, t]));
const BY_NAME = new Map(GGML_TYPES.map((t) => [t.name, t]));

export function ggmlType(id: number): GgmlTypeInfo | undefined {
  return BY_ID.get(id);
}

export function ggmlTypeByName(name: string): GgmlTypeInfo {
  const t = BY_NAME.get(name);
  if (!t) throw new Error(`ggmlTypeByName: unknown type ${name}`);
  return t;
}

/** "type 16 (IQ2_XXS)" or "type 99 (not a ggml type)", for error messages. */
export function describeGgmlType(id: number): string {
  const name = BY_ID.get(id)?.name ?? UNSIZED[id];
  return `type ${id} (${name ?? 'not a ggml type'})`;
}

/** The types cola reads, for "supported: ..." in errors. */
export const READABLE_TYPES = GGML_TYPES.filter((t) => t.support !== 'refuse').map((t) => t.name);
