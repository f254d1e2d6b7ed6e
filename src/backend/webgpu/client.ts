// The webgpu backend as the training code sees it: synchronous primitives, each
// forwarded to the GPU worker through the shared-memory channel (protocol.ts) and
// waited for with Atomics.wait. Runs in a dedicated worker (the main thread of a
// page may not block). Storage is plain typed arrays: every call copies its
// arrays into the channel and the outputs back, except frozen weights, which are
// uploaded once and kept on the GPU (resident.ts; docs/WEBGPU.md).

import type { AttentionShape, Backend, DType, FloatArray, Storage } from '../backend.js';
import { f32ToBf16Bits } from '../reference/bf16.js';
import { checkQuantMatmul } from '../quant/checks.js';
import { blocksPerRow } from '../quant/format.js';
import { quantMatmul, quantize } from '../reference/quantMatmul.js';
import { decodesInWgsl } from './kernels/quantMatmul.js';
import {
  CONTROL_WORDS,
  MAX_DATA_BYTES,
  readText,
  STATE_CLOSE,
  STATE_DONE,
  STATE_FAILED,
  STATE_IDLE,
  STATE_REQUEST,
  writeText,
  type Request,
  type SlotHeader,
  type SlotMode,
} from './protocol.js';
import { codeWords, ResidentWeights, type KeptB } from './resident.js';
import { halfWords } from './weightStorage.js';

/** The longest one primitive may take (a large product on SwiftShader takes seconds). */
const CALL_TIMEOUT_MS = 600_000;

/** One array of a call. `roundToBf16`: an f32 operand of a bf16 product, rounded
 * as the contract says (MatmulArgs.aDtype) before it is sent. `resident`: kept on
 * the GPU (resident.ts): `keep` uploads it, else nothing travels. */
export interface Slot {
  array: Storage;
  mode: SlotMode;
  roundToBf16?: boolean;
  resident?: { id: number; keep: boolean };
}

/** Bytes through the channel since the backend was made (what a step costs in copies). */
export interface Traffic {
  calls: number;
  /** array bytes sent to the GPU worker (inputs, in-out arrays, kept weights' first upload) */
  uploadBytes: number;
  /** array bytes read back (outputs) */
  downloadBytes: number;
  /** bytes of kept weights uploaded (part of uploadBytes) */
  keptBytes: number;
  /** uploadBytes by kernel name */
  uploadByOp: Record<string, number>;
}

export class GpuChannel {
  private readonly state: Int32Array;
  readonly traffic: Traffic = { calls: 0, uploadBytes: 0, downloadBytes: 0, keptBytes: 0, uploadByOp: {} };
  /** kept buffers to free, sent with the next call */
  takeReleased: () => number[] = () => [];

  constructor(
    private readonly control: SharedArrayBuffer,
    private readonly data: SharedArrayBuffer,
  ) {
    this.state = new Int32Array(control, 0, CONTROL_WORDS);
  }

  /** Runs kernel `op` on the GPU worker; returns its JSON result (or undefined). */
  call(op: string, params: Record<string, unknown>, slots: readonly Slot[]): unknown {
    if (Atomics.load(this.state, 0) === STATE_CLOSE) throw new Error(`webgpu ${op}: the backend was closed`);
    const headers: SlotHeader[] = [];
    let bytes = 0;
    for (const s of slots) {
      const travels = !s.resident || s.resident.keep;
      headers.push({ offset: bytes, length: s.array.length, mode: s.mode, ...(s.resident ? { resident: s.resident } : {}) });
      if (travels) bytes += Math.ceil((s.array.length * 4) / 16) * 16;
    }
    this.ensure(bytes);
    slots.forEach((s, i) => {
      if (s.mode === 'out' || (s.resident && !s.resident.keep)) return;
      writeSlot(new Uint32Array(this.data, headers[i]!.offset, s.array.length), s);
      this.traffic.uploadBytes += 4 * s.array.length;
      this.traffic.uploadByOp[op] = (this.traffic.uploadByOp[op] ?? 0) + 4 * s.array.length;
      if (s.resident) this.traffic.keptBytes += 4 * s.array.length;
    });
    this.traffic.calls++;
    const release = this.takeReleased();
    const request: Request = { op, params, slots: headers, ...(release.length ? { release } : {}) };
    writeText(this.control, request);
    Atomics.store(this.state, 0, STATE_REQUEST);
    Atomics.notify(this.state, 0);
    const deadline = performance.now() + CALL_TIMEOUT_MS;
    while (Atomics.load(this.state, 0) === STATE_REQUEST) {
      // A GPU worker that died (out of memory, terminated) never answers: fail instead of hanging.
      if (Atomics.wait(this.state, 0, STATE_REQUEST, Math.max(0, deadline - performance.now())) === 'timed-out') {
        throw new Error(`webgpu ${op}: the GPU worker did not answer within ${CALL_TIMEOUT_MS / 1000} s (did it crash?)`);
      }
    }
    const outcome = Atomics.load(this.state, 0);
    const answer = readText<{ error?: string; result?: unknown }>(this.control);
    Atomics.store(this.state, 0, STATE_IDLE);
    if (outcome === STATE_FAILED) throw new Error(`webgpu ${op}: ${answer.error}`);
    if (outcome !== STATE_DONE) throw new Error(`webgpu ${op}: channel in state ${outcome}`);
    slots.forEach((s, i) => {
      if (s.mode === 'in') return;
      readSlot(new Uint32Array(this.data, headers[i]!.offset, s.array.length), s.array);
      this.traffic.downloadBytes += 4 * s.array.length;
    });
    return answer.result;
  }

  /** Tells the GPU worker to free this channel's buffers and device (Node's shared GPU thread). */
  close(): void {
    Atomics.store(this.state, 0, STATE_CLOSE);
    Atomics.notify(this.state, 0);
  }

  private ensure(bytes: number): void {
    if (bytes <= this.data.byteLength) return;
    if (bytes > MAX_DATA_BYTES) throw new Error(`webgpu: one call needs ${bytes} bytes of arrays, more than ${MAX_DATA_BYTES}`);
    // Growable SharedArrayBuffer (ES2024): the GPU worker sees the new length.
    (this.data as unknown as { grow(n: number): void }).grow(Math.min(MAX_DATA_BYTES, Math.max(bytes, this.data.byteLength * 2)));
  }
}

function writeSlot(dst: Uint32Array, s: Slot): void {
  const a = s.array;
  if (a instanceof Uint16Array) {
    for (let i = 0; i < a.length; i++) dst[i] = a[i]! << 16; // bf16 widened (exact): WGSL has no bf16
  } else if (s.roundToBf16) {
    for (let i = 0; i < a.length; i++) dst[i] = f32ToBf16Bits(a[i]!) << 16;
  } else {
    dst.set(new Uint32Array(a.buffer, a.byteOffset, a.length));
  }
}

function readSlot(src: Uint32Array, a: Storage): void {
  if (a instanceof Uint16Array) {
    for (let i = 0; i < a.length; i++) a[i] = src[i]! >>> 16; // kernels write bf16 results already rounded
  } else {
    new Uint32Array(a.buffer, a.byteOffset, a.length).set(src);
  }
}

const isBf16 = (x: FloatArray | null | undefined) => x instanceof Uint16Array;
const opt = (x: Storage | null | undefined, mode: SlotMode): Slot[] => (x ? [{ array: x, mode }] : []);

/** The attention scalars sent to the kernels, after the checks the reference makes
 * (reference/attention.ts layout()): a bad window, softcap or keyStart is refused,
 * never computed with. keyStart itself travels as the call's last array. */
function attentionParams<T extends AttentionShape>(p: T): Omit<T, 'keyStart'> & { hasKeyStart: boolean } {
  const { keyStart, ...rest } = p;
  if (p.headsQ % p.headsKv !== 0) throw new RangeError(`attention: headsQ (${p.headsQ}) must be a multiple of headsKv (${p.headsKv})`);
  if (p.window !== undefined && !(Number.isInteger(p.window) && p.window > 0 && p.causal))
    throw new RangeError(`attention: window must be a positive integer and needs causal, got ${p.window}`);
  if (p.softcap !== undefined && !(p.softcap > 0)) throw new RangeError(`attention: softcap must be > 0, got ${p.softcap}`);
  if (keyStart) {
    const n = p.batch * p.seqQ;
    if (keyStart.length !== n) throw new RangeError(`attention: keyStart has ${keyStart.length} entries, expected batch * seqQ = ${n}`);
    for (const s of keyStart) if (s < 0 || s > p.seqKv) throw new RangeError(`attention: keyStart ${s} is outside 0..${p.seqKv}`);
  }
  return { ...rest, hasKeyStart: !!keyStart };
}

/** Options of the channel's backend: how kept weights are stored (weightStorage.ts,
 * resolved against the adapter already). */
export interface ChannelOptions {
  weightStorage: 'f32' | 'f16';
  /** how a product with a bf16 operand is computed when MatmulArgs.compute is absent:
   * the process's compute path, as the reference reads it (Node: compute.ts
   * computeFor('bf16'), which follows --compute and the CPU); absent: 'bf16' */
  defaultCompute?: () => 'f32' | 'bf16';
}

/** The Backend over a channel. */
export function channelBackend(ch: GpuChannel, opts: ChannelOptions = { weightStorage: 'f32' }): Backend {
  const accMode = (acc: boolean): SlotMode => (acc ? 'inout' : 'out');
  const resident = new ResidentWeights();
  ch.takeReleased = () => resident.takeReleased();
  /** The slot of a kept B: its first use uploads it (f16 halves two a word, or f32 bits). */
  const keptSlot = (kept: KeptB): Slot => {
    if (kept.uploaded) return { array: kept.source, mode: 'in', resident: { id: kept.id, keep: false } };
    return { array: kept.f16 ? halfWords(kept.source) : kept.source, mode: 'in', resident: { id: kept.id, keep: true } };
  };
  return {
    name: 'webgpu',
    // kept weights are B itself on the GPU, read by the same kernel (f16 storage rounds them)
    packedSameRounding: opts.weightStorage === 'f32',
    // Frozen weights uploaded once and kept on the GPU (resident.ts); the handle is empty.
    packMatmulB: (b, k, n, transB, as) => resident.pack(b, k, n, transB, as === 'f32', opts.weightStorage === 'f16'),
    quantMatmul: (args) => {
      // a format (or a weight field) the WGSL decoder does not know: the reference's
      // dequantize-then-multiply on this worker's CPU, never a misread weight
      if (!decodesInWgsl(args.w)) return quantMatmul(args);
      checkQuantMatmul(args);
      const { x, w, out, m, mode, beta } = args;
      if (m === 0) return;
      const [inF, outF] = mode === 'forward' ? [w.cols, w.rows] : [w.rows, w.cols];
      const kept = resident.quant(w.data, w.scales !== null);
      const keep = !kept.uploaded;
      const idle = new Int32Array(0); // a kept array's slot once uploaded: nothing travels
      ch.call(
        'quantMatmul',
        {
          format: w.format,
          rows: w.rows,
          cols: w.cols,
          blocksPerRow: blocksPerRow(w.format, w.cols),
          m,
          mode,
          beta,
          hasScales: !!w.scales,
        },
        [
          { array: x.subarray(0, m * inF), mode: 'in' },
          { array: keep ? codeWords(w.data) : idle, mode: 'in', resident: { id: kept.codes, keep } },
          { array: out.subarray(0, m * outF), mode: beta === 0 ? 'out' : 'inout' },
          ...(w.scales ? [{ array: keep ? w.scales : idle, mode: 'in' as const, resident: { id: kept.scales!, keep } }] : []),
        ],
      );
      kept.uploaded = true;
    },
    // the quantizer: the reference's (a model is quantized once, as it loads)
    quantize,
    alloc(dtype: DType, size: number): Storage {
      return dtype === 'f32' ? new Float32Array(size) : dtype === 'bf16' ? new Uint16Array(size) : new Int32Array(size);
    },
    empty(dtype: DType, size: number): Storage {
      return this.alloc(dtype, size);
    },
    castToBf16: (src, dst) =>
      void ch.call('castToBf16', {}, [
        { array: src, mode: 'in' },
        { array: dst, mode: 'out' },
      ]),
    castToF32: (src, dst) =>
      void ch.call('copyBits', {}, [
        { array: src, mode: 'in' },
        { array: dst, mode: 'out' },
      ]),
    copyStrided: ({ src, dst, ...p }) => {
      if (src.constructor !== dst.constructor) throw new TypeError('copyStrided: src and dst must be the same kind');
      if (p.accumulate && dst instanceof Uint16Array) throw new TypeError('copyStrided: accumulate is not defined for bf16 storage');
      ch.call('copyStrided', { ...p, int: dst instanceof Int32Array }, [
        { array: src, mode: 'in' },
        { array: dst, mode: 'inout' },
      ]);
    },
    fill: (x, value) => void ch.call('fill', { value }, [{ array: x, mode: 'out' }]),
    binary: ({ a, b, out, ...p }) =>
      void ch.call('binary', p, [
        { array: a, mode: 'in' },
        { array: b, mode: 'in' },
        { array: out, mode: 'out' },
      ]),
    unary: (op, x, out) =>
      void ch.call('unary', { op }, [
        { array: x, mode: 'in' },
        { array: out, mode: 'out' },
      ]),
    unaryBackward: ({ x, dy, dx, ...p }) =>
      void ch.call('unaryBackward', p, [
        { array: x, mode: 'in' },
        { array: dy, mode: 'in' },
        { array: dx, mode: accMode(p.accumulate) },
      ]),
    axpby: (alpha, x, beta, y) =>
      void ch.call('axpby', { alpha, beta }, [
        { array: x, mode: 'in' },
        { array: y, mode: beta === 0 ? 'out' : 'inout' },
      ]),
    reduceSum: ({ x, out, ...p }) =>
      void ch.call('reduceSum', p, [
        { array: x, mode: 'in' },
        { array: out, mode: accMode(p.accumulate) },
      ]),
    // A reduction to one number in f64, as the contract demands (WGSL has no f64):
    // the worker holds the array anyway, so it is summed here.
    sumSquares: (x) => {
      let s = 0;
      for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
      return s;
    },
    dropout: ({ x, out, p, seed, offset }) =>
      void ch.call('dropout', { p, seed: seed | 0, offset: offset % 2 ** 32, scale: 1 / (1 - p) }, [
        { array: x, mode: 'in' },
        { array: out, mode: 'out' },
      ]),
    matmul: ({ a, b, c, bias, bPacked, ...p }) => {
      // bf16 storage is widened to f32 (exact); a bf16 product rounds the f32 operand
      // to bf16 first unless compute is 'f32' (absent: opts.defaultCompute, else bf16).
      const bf16Product = (isBf16(a) || isBf16(b)) && (p.compute ?? opts.defaultCompute?.() ?? 'bf16') !== 'f32';
      // B kept on the GPU serves this product if it is this very B, read the same way,
      // and needs no rounding (an f32 B of a bf16 product is rounded per call)
      const kept = resident.packed(bPacked);
      const useKept =
        kept !== undefined &&
        kept.source === b &&
        kept.k === p.k &&
        kept.n === p.n &&
        kept.transB === p.transB &&
        (p.batch === 1 || p.bBatchStride === 0) &&
        !(bf16Product && !isBf16(b));
      ch.call(useKept && kept.f16 ? 'matmulF16B' : 'matmul', { ...p, hasBias: !!bias }, [
        { array: a, mode: 'in', roundToBf16: bf16Product },
        useKept ? keptSlot(kept) : { array: b, mode: 'in', roundToBf16: bf16Product },
        { array: c, mode: p.beta === 0 ? 'out' : 'inout' },
        ...opt(bias, 'in'),
      ]);
      if (useKept) kept.uploaded = true;
    },
    softmax: (x, out, rows, cols) =>
      void ch.call('softmax', { rows, cols, log: false }, [
        { array: x, mode: 'in' },
        { array: out, mode: 'out' },
      ]),
    logSoftmax: (x, out, rows, cols) =>
      void ch.call('softmax', { rows, cols, log: true }, [
        { array: x, mode: 'in' },
        { array: out, mode: 'out' },
      ]),
    softmaxBackward: ({ y, dy, dx, ...p }) =>
      void ch.call('softmaxBackward', { ...p, log: false }, [
        { array: y, mode: 'in' },
        { array: dy, mode: 'in' },
        { array: dx, mode: accMode(p.accumulate) },
      ]),
    logSoftmaxBackward: ({ y, dy, dx, ...p }) =>
      void ch.call('softmaxBackward', { ...p, log: true }, [
        { array: y, mode: 'in' },
        { array: dy, mode: 'in' },
        { array: dx, mode: accMode(p.accumulate) },
      ]),
    rmsNorm: ({ x, weight, out, rstd, ...p }) =>
      void ch.call('rmsNorm', { ...p, hasWeight: !!weight }, [
        { array: x, mode: 'in' },
        { array: out, mode: 'out' },
        { array: rstd, mode: 'out' },
        ...opt(weight, 'in'),
      ]),
    rmsNormBackward: ({ x, weight, rstd, dy, dx, dWeight, ...p }) =>
      void ch.call('rmsNormBackward', { ...p, hasWeight: !!weight, hasDx: !!dx, hasDWeight: !!dWeight }, [
        { array: x, mode: 'in' },
        { array: rstd, mode: 'in' },
        { array: dy, mode: 'in' },
        ...opt(dx, accMode(p.accumulate)),
        ...opt(dWeight, accMode(p.accumulate)),
        ...opt(weight, 'in'),
      ]),
    layerNorm: ({ x, weight, bias, out, mean, rstd, ...p }) =>
      void ch.call('layerNorm', { ...p, hasWeight: !!weight, hasBias: !!bias }, [
        { array: x, mode: 'in' },
        { array: out, mode: 'out' },
        { array: mean, mode: 'out' },
        { array: rstd, mode: 'out' },
        ...opt(weight, 'in'),
        ...opt(bias, 'in'),
      ]),
    layerNormBackward: ({ x, weight, mean, rstd, dy, dx, dWeight, dBias, ...p }) =>
      void ch.call('layerNormBackward', { ...p, hasWeight: !!weight, hasDx: !!dx, hasDWeight: !!dWeight, hasDBias: !!dBias }, [
        { array: x, mode: 'in' },
        { array: mean, mode: 'in' },
        { array: rstd, mode: 'in' },
        { array: dy, mode: 'in' },
        ...opt(dx, accMode(p.accumulate)),
        ...opt(dWeight, accMode(p.accumulate)),
        ...opt(dBias, accMode(p.accumulate)),
        ...opt(weight, 'in'),
      ]),
    rope: ({ x, out, positions, cos, sin, ...p }) =>
      void ch.call('rope', p, [
        { array: x, mode: 'in' },
        { array: out, mode: 'out' },
        { array: positions, mode: 'in' },
        { array: cos, mode: 'in' },
        { array: sin, mode: 'in' },
      ]),
    attention: ({ q, k, v, out, lse, ...p }) =>
      void ch.call('attention', attentionParams(p), [
        { array: q, mode: 'in' },
        { array: k, mode: 'in' },
        { array: v, mode: 'in' },
        { array: out, mode: 'out' },
        { array: lse, mode: 'out' },
        ...opt(p.keyStart, 'in'),
      ]),
    attentionBackward: ({ q, k, v, out, lse, dOut, dq, dk, dv, ...p }) =>
      void ch.call('attentionBackward', { ...attentionParams(p), hasDq: !!dq, hasDk: !!dk, hasDv: !!dv }, [
        { array: q, mode: 'in' },
        { array: k, mode: 'in' },
        { array: v, mode: 'in' },
        { array: out, mode: 'in' },
        { array: lse, mode: 'in' },
        { array: dOut, mode: 'in' },
        ...opt(dq, 'out'),
        ...opt(dk, 'out'),
        ...opt(dv, 'out'),
        ...opt(p.keyStart, 'in'),
      ]),
    embedding: (weight, ids, out, dim) =>
      void ch.call('embedding', { dim }, [
        { array: weight, mode: 'in' },
        { array: ids, mode: 'in' },
        { array: out, mode: 'out' },
      ]),
    embeddingBackward: (ids, dy, dWeight, dim) =>
      void ch.call('embeddingBackward', { dim }, [
        { array: ids, mode: 'in' },
        { array: dy, mode: 'in' },
        { array: dWeight, mode: 'inout' },
      ]),
    crossEntropy: ({ logits, targets, loss, dLogits, ...p }) =>
      void ch.call('crossEntropy', { ...p, hasGrad: !!dLogits }, [
        { array: logits, mode: 'in' },
        { array: targets, mode: 'in' },
        { array: loss, mode: 'out' },
        ...opt(dLogits, 'out'),
      ]),
    adamw: ({ param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step }) => {
      if (!(step >= 1)) throw new RangeError(`adamw: step is 1-based, got ${step}`);
      ch.call(
        'adamw',
        { lr, beta1, beta2, eps, decay: 1 - lr * weightDecay, correction1: 1 - beta1 ** step, correction2: 1 - beta2 ** step },
        [
          { array: param, mode: 'inout' },
          { array: grad, mode: 'in' },
          { array: m, mode: 'inout' },
          { array: v, mode: 'inout' },
        ],
      );
    },
  };
}
