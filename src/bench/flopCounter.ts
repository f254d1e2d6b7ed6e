// Counts the floating-point operations a training step asks of the backend, so the
// step's effective GFLOP/s can be set against the machine's measured matmul rate
// (issue 15: "report, for each dtype, the step's effective GFLOP/s as a share of the
// same machine's measured matmul rate").
//
// Only useful work counts, the convention of model-FLOPs utilisation: a product is
// 2mnk; attention is 2D per visible (query, key) pair per product it needs (QK^T and
// PV forward; dV, dP, dQ, dK backward), not the masked tiles a kernel computes anyway
// nor the scores the backward pass recomputes. Elementwise passes count nothing. So
// the share is a lower bound on how busy the products keep the machine.

import type { AttentionArgs, AttentionBackwardArgs, AttentionShape, Backend, MatmulArgs, QuantMatmulArgs } from '../backend/backend.js';

export interface FlopCounter {
  backend: Backend;
  /** operations since the last reset */
  flops(): number;
  reset(): void;
}

/** (query, key) pairs attention scores, over all heads: the causal, window and
 * keyStart masks of AttentionShape, as the kernels apply them. */
export function attentionPairs(a: AttentionShape): number {
  const { batch, headsQ, seqQ: tq, seqKv: tk } = a;
  let pairs = 0;
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < tq; i++) {
      // keys [first, visible) of query i (absolute position tk - tq + i)
      const visible = a.causal ? Math.max(0, Math.min(tk, tk - tq + i + 1)) : tk;
      let first = a.keyStart ? a.keyStart[b * tq + i]! : 0;
      if (a.window !== undefined) first = Math.max(first, tk - tq + i - a.window + 1);
      pairs += Math.max(0, visible - Math.min(visible, first));
    }
  }
  return pairs * headsQ;
}

export function matmulFlops(a: MatmulArgs): number {
  return 2 * a.batch * a.m * a.n * a.k;
}

function quantMatmulFlops(a: QuantMatmulArgs): number {
  return 2 * a.m * a.w.rows * a.w.cols;
}

/** Forward: S = QK^T and O = PV, 2D each per visible pair. */
function attentionFlops(a: AttentionArgs): number {
  return 4 * a.headDim * attentionPairs(a);
}

/** Backward: dV = P^T dO; dP = dO V^T (for dQ or dK); dQ = dS K; dK = dS^T Q. */
function attentionBackwardFlops(a: AttentionBackwardArgs): number {
  const products = (a.dv ? 1 : 0) + (a.dq || a.dk ? 1 : 0) + (a.dq ? 1 : 0) + (a.dk ? 1 : 0);
  return 2 * products * a.headDim * attentionPairs(a);
}

const COUNTED: Partial<Record<keyof Backend, (args: never) => number>> = {
  matmul: matmulFlops,
  quantMatmul: quantMatmulFlops,
  attention: attentionFlops,
  attentionBackward: attentionBackwardFlops,
};

/** `inner` with its products and attention counted; every other call passes through. */
export function countFlops(inner: Backend): FlopCounter {
  let total = 0;
  const wrapped: Record<string, unknown> = { ...inner };
  for (const [name, count] of Object.entries(COUNTED)) {
    const fn = inner[name as keyof Backend] as ((args: unknown) => unknown) | undefined;
    if (typeof fn !== 'function') continue;
    wrapped[name] = (args: unknown) => {
      total += count(args as never);
      return fn.call(inner, args);
    };
  }
  return {
    backend: wrapped as unknown as Backend,
    flops: () => total,
    reset: () => {
      total = 0;
    },
  };
}
