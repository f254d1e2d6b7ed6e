// The raw functions exported by the C++ addon (native/addon.cc). Enum-like
// arguments travel as small integer codes; every length is checked in C++.

export interface NativeAddon {
  alloc(bytes: number): ArrayBuffer;
  /** bytes from the start of `buffer` to its first 64-byte boundary */
  alignPad(buffer: ArrayBuffer): number;
  castToBf16(src: Float32Array, dst: Uint16Array): void;
  castToF32(src: Uint16Array, dst: Float32Array): void;
  copyStrided(
    src: Float32Array | Uint16Array | Int32Array,
    srcOffset: number,
    srcStrides: readonly number[],
    dst: Float32Array | Uint16Array | Int32Array,
    dstOffset: number,
    dstStrides: readonly number[],
    shape: readonly number[],
    accumulate: boolean,
  ): void;
  fill(x: Float32Array, value: number): void;
  binary(
    op: number,
    a: Float32Array,
    aStrides: readonly number[],
    b: Float32Array,
    bStrides: readonly number[],
    out: Float32Array,
    shape: readonly number[],
  ): void;
  unary(op: number, x: Float32Array, out: Float32Array): void;
  unaryBackward(op: number, x: Float32Array, dy: Float32Array, dx: Float32Array, accumulate: boolean): void;
  axpby(alpha: number, x: Float32Array, beta: number, y: Float32Array): void;
  reduceSum(x: Float32Array, outer: number, mid: number, inner: number, out: Float32Array, accumulate: boolean): void;
  sumSquares(x: Float32Array): number;
  dropout(x: Float32Array, out: Float32Array, p: number, seed: number, offset: number): void;
  matmul(
    a: Float32Array | Uint16Array,
    b: Float32Array | Uint16Array,
    c: Float32Array,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    aBatchStride: number,
    bBatchStride: number,
    alpha: number,
    beta: number,
    bias: Float32Array | null,
    bPacked: Float32Array | Uint16Array | null,
  ): void;
  packedBytes(k: number, n: number, bf16: boolean): number;
  packB(b: Float32Array | Uint16Array, out: Float32Array | Uint16Array, k: number, n: number, transB: boolean): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  logSoftmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  softmaxBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, cols: number, accumulate: boolean): void;
  logSoftmaxBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, cols: number, accumulate: boolean): void;
  rmsNorm(...args: unknown[]): void;
  rmsNormBackward(...args: unknown[]): void;
  layerNorm(...args: unknown[]): void;
  layerNormBackward(...args: unknown[]): void;
  rope(...args: unknown[]): void;
  attention(...args: unknown[]): void;
  attentionBackward(...args: unknown[]): void;
  embedding(...args: unknown[]): void;
  embeddingBackward(...args: unknown[]): void;
  crossEntropy(...args: unknown[]): void;
  adamw(...args: unknown[]): void;
}
