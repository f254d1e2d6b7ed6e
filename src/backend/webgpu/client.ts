// The webgpu backend as the training code sees it: synchronous primitives, each
// forwarded to the GPU worker through the shared-memory channel (protocol.ts) and
// waited for with Atomics.wait. Runs in a dedicated worker (the main thread of a
// page may not block). Storage is plain typed arrays: every call copies its
// arrays into the channel and the outputs back (correct first; keeping frozen
// weights resident on the GPU is future work, docs/WEBGPU.md).

import type { Backend, DType, FloatArray, Storage } from '../backend.js';
import { f32ToBf16Bits } from '../reference/bf16.js';
import { quantMatmul, quantize } from '../reference/quantMatmul.js';
import {
  CONTROL_WORDS,
  MAX_DATA_BYTES,
  readText,
  STATE_DONE,
  STATE_FAILED,
  STATE_IDLE,
  STATE_REQUEST,
  writeText,
  type Request,
  type SlotHeader,
  type SlotMode,
} from './protocol.js';

/** The longest one primitive may take (a large product on SwiftShader takes seconds). */
const CALL_TIMEOUT_MS = 600_000;

/** One array of a call. `roundToBf16`: an f32 operand of a bf16 product, rounded
 * as the contract says (MatmulArgs.aDtype) before it is sent. */
export interface Slot {
  array: Storage;
  mode: SlotMode;
  roundToBf16?: boolean;
}

export class GpuChannel {
  private readonly state: Int32Array;

  constructor(
    private readonly control: SharedArrayBuffer,
    private readonly data: SharedArrayBuffer,
  ) {
    this.state = new Int32Array(control, 0, CONTROL_WORDS);
  }

  /** Runs kernel `op` on the GPU worker; returns its JSON result (or undefined). */
  call(op: string, params: Record<string, unknown>, slots: readonly Slot[]): unknown {
    const headers: SlotHeader[] = [];
    let bytes = 0;
    for (const s of slots) {
      headers.push({ offset: bytes, length: s.array.length, mode: s.mode });
      bytes += Math.ceil((s.array.length * 4) / 16) * 16;
    }
    this.ensure(bytes);
    slots.forEach((s, i) => {
      if (s.mode !== 'out') writeSlot(new Uint32Array(this.data, headers[i]!.offset, s.array.length), s);
    });
    const request: Request = { op, params, slots: headers };
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
      if (s.mode !== 'in') readSlot(new Uint32Array(this.data, headers[i]!.offset, s.array.length), s.array);
    });
    return answer.result;
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

/** The attention shape, refused when it asks for masks the WGSL kernels do not have yet
 * (packed rows' keyStart, sliding windows, soft-capping: issues 18, Gemma/Phi-3) rather
 * than computed without them. */
function plainAttention<T extends { keyStart?: Int32Array; window?: number; softcap?: number }>(p: T): T {
  const asked = [p.keyStart && 'keyStart (--pack)', p.window !== undefined && 'window', p.softcap !== undefined && 'softcap'].filter(
    Boolean,
  );
  if (asked.length)
    throw new Error(`webgpu attention: ${asked.join(', ')} not implemented in WGSL yet; use the native or reference backend`);
  return p;
}

/** The Backend over a channel. */
export function channelBackend(ch: GpuChannel): Backend {
  const accMode = (acc: boolean): SlotMode => (acc ? 'inout' : 'out');
  return {
    name: 'webgpu',
    // no WGSL kernel for quantized weights yet (issue 17 landed after this backend):
    // the reference's dequantize-then-multiply (and its quantizer), on the CPU of the training worker
    quantMatmul,
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
    matmul: ({ a, b, c, bias, bPacked: _packed, ...p }) => {
      // bf16 storage is widened to f32 (exact); a bf16 product rounds the f32 operand
      // to bf16 first unless compute is 'f32' (absent: bf16, the contract's default).
      const bf16Product = (isBf16(a) || isBf16(b)) && p.compute !== 'f32';
      ch.call('matmul', { ...p, hasBias: !!bias }, [
        { array: a, mode: 'in', roundToBf16: bf16Product },
        { array: b, mode: 'in', roundToBf16: bf16Product },
        { array: c, mode: p.beta === 0 ? 'out' : 'inout' },
        ...opt(bias, 'in'),
      ]);
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
      void ch.call('attention', plainAttention(p), [
        { array: q, mode: 'in' },
        { array: k, mode: 'in' },
        { array: v, mode: 'in' },
        { array: out, mode: 'out' },
        { array: lse, mode: 'out' },
      ]),
    attentionBackward: ({ q, k, v, out, lse, dOut, dq, dk, dv, ...p }) =>
      void ch.call('attentionBackward', { ...plainAttention(p), hasDq: !!dq, hasDk: !!dk, hasDv: !!dv }, [
        { array: q, mode: 'in' },
        { array: k, mode: 'in' },
        { array: v, mode: 'in' },
        { array: out, mode: 'in' },
        { array: lse, mode: 'in' },
        { array: dOut, mode: 'in' },
        ...opt(dq, 'out'),
        ...opt(dk, 'out'),
        ...opt(dv, 'out'),
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
