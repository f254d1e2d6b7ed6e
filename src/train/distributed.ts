/** Data-parallel training over the ranks of an `mpirun` job (issue 19). Every rank holds
 * the same model and optimizer, computes the same global batch order and trains on its
 * slice of each batch (data/batching.ts rankSlice). The step then equals the
 * single-process one:
 *
 *   single process:  L = (1/W) Σ_{units u in batch} l_u               (W = the batch's loss units)
 *   rank r:          L_r = (1/w_r) Σ_{u in slice r} l_u, scaled by w_r/W before backward
 *   all-reduce:      Σ_r (w_r/W) ∇L_r = ∇L
 *
 * W is all-reduced (f64, exact for counts) before the backward, gradients are summed in
 * f32 after it; then every rank clips and steps the same optimizer on the same numbers.
 * The only difference from one process is the order of the f32 sums (see
 * test/train/distributed.test.ts for the tolerance this reaches). */
import type { Communicator } from '../backend/mpi.js';
import { ColaError } from '../errors.js';
import { zeros } from '../tensor/ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/** A rank's view of the job; `comm` null means one process (size 1, rank 0). */
export interface Parallel {
  readonly rank: number;
  readonly size: number;
  readonly comm: Communicator | null;
}

export const SINGLE_PROCESS: Parallel = { rank: 0, size: 1, comm: null };

export function parallelOf(comm: Communicator | null): Parallel {
  return comm ? { rank: comm.rank, size: comm.size, comm } : SINGLE_PROCESS;
}

/** Rank 0 writes the run's files; the others write nothing. */
export function isWriter(p: Parallel): boolean {
  return p.rank === 0;
}

/** Work rank 0 does alone (a dev evaluation, a checkpoint write) while the other ranks
 * wait for it, in a barrier named after it: without it they waited in their next
 * collective (the next step's batch totals), and a long evaluation tripped the watchdog
 * with a message that did not say why. The wait still counts toward --rank-timeout (a
 * rank 0 that hangs there must still end the job), so that timeout must cover rank 0's
 * longest such work; when it does not, the error names it (`what`, at most ~100
 * characters: the watchdog's message keeps 111). Every rank must call it at the same point. */
export function rankZeroAlone(p: Parallel, what: string, work: () => void): void {
  if (isWriter(p)) work();
  p.comm?.barrier(`${what} (rank 0 works alone, the others wait)`);
}

/** The per-micro-batch sums every rank needs before its backward: the batch's loss units
 * W, the batch's loss Σ_r w_r L_r (over W: the single-process loss), its tokens, and
 * whether some rank's loss was not finite. */
export interface BatchTotals {
  weight: number;
  weightedLoss: number;
  tokens: number;
  nonFinite: boolean;
}

export function reduceBatchTotals(comm: Communicator, local: { weight: number; loss: number; tokens: number }): BatchTotals {
  const finite = Number.isFinite(local.loss);
  const a = new Float64Array([local.weight, finite ? local.loss * local.weight : 0, local.tokens, finite ? 0 : 1]);
  comm.allreduceF64(a, 'batch totals');
  return { weight: a[0]!, weightedLoss: a[1]!, tokens: a[2]!, nonFinite: a[3]! > 0 };
}

/** Sums the gradients of `params` over the ranks, in place, as one f32 buffer (one
 * collective per step: LoRA gradients are small). A parameter without a gradient on this
 * rank (an empty slice) contributes zeros. */
export function allreduceGradients(comm: Communicator, params: readonly Tensor[]): void {
  let n = 0;
  for (const p of params) n += p.size;
  const buf = new Float32Array(n);
  let off = 0;
  for (const p of params) {
    if (p.grad) buf.set(p.grad.f32, off);
    off += p.size;
  }
  comm.allreduceF32(buf, 'gradients');
  off = 0;
  for (const p of params) {
    if (!p.grad) p.grad = zeros(p.backend, p.shape);
    p.grad.f32.set(buf.subarray(off, off + p.size));
    off += p.size;
  }
}

/** A cheap fingerprint of some arrays (f32 values, or bf16 bit patterns): the plain sum and a position-weighted sum (so
 * swapped values change it too), in f64. Ranks that agree have bit-equal fingerprints. */
export function fingerprint(arrays: readonly ArrayLike<number>[]): [number, number] {
  let sum = 0;
  let weighted = 0;
  let i = 0;
  for (const a of arrays)
    for (let k = 0; k < a.length; k++, i++) {
      sum += a[k]!;
      weighted += a[k]! * ((i % 1021) + 1);
    }
  return [sum, weighted];
}

/** Stops the run when the ranks no longer hold the same `what` (e.g. the merged weights
 * at a knot): every rank puts its fingerprint in its own slot of a zeroed buffer, so the
 * sum is every rank's fingerprint exactly, and all ranks reach the same verdict. */
export function checkReplicasAgree(comm: Communicator, arrays: readonly ArrayLike<number>[], what: string): void {
  const mine = fingerprint(arrays);
  const all = new Float64Array(2 * comm.size);
  all[2 * comm.rank] = mine[0];
  all[2 * comm.rank + 1] = mine[1];
  comm.allreduceF64(all, `checksum of ${what}`.slice(0, 100));
  const differing: number[] = [];
  for (let r = 1; r < comm.size; r++) if (all[2 * r] !== all[0] || all[2 * r + 1] !== all[1]) differing.push(r);
  if (differing.length > 0)
    throw new ColaError(
      `the ranks disagree on ${what}: rank(s) ${differing.join(', ')} differ from rank 0 (checksums ${Array.from(all).join(', ')}); ` +
        'every rank must run the same cola build, backend, thread count and flags; stopping',
    );
}
