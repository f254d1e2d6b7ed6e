import type { Backend, FloatArray, QuantizeArgs } from '../backend.js';

// The functions the C++ addon exports (native/addon.cc). Every primitive has the
// contract's own signature (src/backend/backend.ts): the addon reads the same
// argument records by field name and op names as strings, so its type is derived
// from Backend and a new primitive needs no second declaration here. Storage is
// the exception: the addon only aligns buffers and packs matmul operands, and
// native/index.ts builds `alloc`, `empty` and `packMatmulB` from these helpers.

type StorageMembers = 'name' | 'alloc' | 'empty' | 'packMatmulB' | 'quantize';

export type NativeAddon = Omit<Backend, StorageMembers> & {
  /** bytes from the start of `buffer` to its first 64-byte boundary */
  alignPad(buffer: ArrayBuffer): number;
  /** bytes of a [k, n] B in oneDNN's packed layout */
  packedBytes(k: number, n: number, bf16: boolean): number;
  /** B ([k, n], or stored [n, k] when transB) reordered into out (packedBytes long) */
  packB(b: FloatArray, out: FloatArray, k: number, n: number, transB: boolean): void;
  /** oneDNN's effective ISA, its version, OpenMP's thread count and cpuid's feature bits (native/cpu.cc) */
  cpuInfo(): NativeCpuInfo;
  /** args.values quantized into data (rows x rowBytes) and scales (int8, nf4; else null):
   * backend/quant/codec.ts's bytes (native/quantize.cc); throws on NaN / infinity */
  quantizeInto(args: QuantizeIntoArgs): void;
  /** OpenMP threads of the calling thread's later parallel regions */
  setThreads(n: number): void;
};

export interface NativeCpuInfo {
  onednnIsa: string;
  onednnVersion: string;
  ompMaxThreads: number;
  /** whether oneDNN builds bf16 products here (not on AVX2-only CPUs: there a bf16 product runs in f32 on bf16-rounded operands) */
  bf16Matmul: boolean;
  /** whether f32 products of a bf16 weight run on cola's blocked AVX2 kernel (native/gemm.cc; COLA_GEMM=onednn turns it off) */
  gemmAvx2: boolean;
  cpuid: { avx2: boolean; avx512f: boolean; avx512Vnni: boolean; avx512Bf16: boolean; amxBf16: boolean };
}

export interface QuantizeIntoArgs extends Omit<QuantizeArgs, 'doubleQuant'> {
  data: Uint8Array;
  scales: Float32Array | null;
}
