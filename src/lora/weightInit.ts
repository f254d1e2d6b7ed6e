// LoRA initialisations taken from the weight itself (PEFT's init_lora_weights "pissa",
// "pissa_niter_N", "olora"). Each returns A [r, in] and B [out, r] such that the caller
// replaces the base weight W by the residual W - s B A: base + adapter = W at init.
// Everything is computed in f64 from an f32 copy of W (PEFT computes in f32).
import { ColaError } from '../errors.js';
import { mulberry32, type Rng } from '../tensor/random.js';
import type { LoraInit } from './config.js';

export interface WeightInitArgs {
  /** the current (merged) weight, [out, in] row-major, f32 */
  weight: Float32Array;
  out: number;
  inF: number;
  r: number;
  /** the adapter's scale s */
  scale: number;
  /** seeds the random start of the subspace iteration (PiSSA) */
  seed: number;
}

export interface Factors {
  A: Float32Array; // [r, in]
  B: Float32Array; // [out, r]
}

/** A and B for a weight-derived init; a ColaError when r exceeds min(out, in). */
export function weightInitFactors(init: LoraInit, a: WeightInitArgs): Factors {
  if (a.r > Math.min(a.out, a.inF)) {
    throw new ColaError(
      `init_lora_weights "${init}" needs r <= min(out, in) = ${Math.min(a.out, a.inF)} (the weight has no more singular/QR directions), got r = ${a.r}; lower --rank`,
    );
  }
  if (init === 'olora') return oloraFactors(a);
  const niter = init === 'pissa' ? undefined : Number(init.slice('pissa_niter_'.length));
  return pissaFactors(a, niter);
}

/** PiSSA (Meng et al. 2024, arXiv 2404.02948; PEFT's pissa_init): with W = U S V^T,
 * A = diag(sqrt(S_r / s)) V_r^T and B = U_r diag(sqrt(S_r / s)), so s B A = U_r S_r V_r^T,
 * the best rank-r approximation of W. `niter` undefined: the exact top-r SVD (PEFT:
 * torch.linalg.svd), iterated to convergence; a number: torch.svd_lowrank(W, q = r,
 * niter) semantics, a randomized range finder with that many subspace iterations. */
export function pissaFactors(a: WeightInitArgs, niter?: number): Factors {
  const { U, S, Vt, k } = topSvd(a, niter);
  const { out, inF, r } = a;
  const A = new Float32Array(r * inF);
  const B = new Float32Array(out * r);
  for (let i = 0; i < r; i++) {
    const root = Math.sqrt(S[i]! / a.scale);
    for (let c = 0; c < inF; c++) A[i * inF + c] = root * Vt[i * inF + c]!;
    for (let o = 0; o < out; o++) B[o * r + i] = U[o * k + i]! * root;
  }
  return { A, B };
}

/** OLoRA (Büyükakyüz 2024, arXiv 2406.01775; PEFT's olora_init): W = Q R (Householder,
 * LAPACK's sign convention as torch.linalg.qr), A = R[:r] [r, in], B = Q[:, :r] [out, r].
 * No division by s: the residual is W - s Q_r R_r, as in PEFT. */
export function oloraFactors(a: WeightInitArgs): Factors {
  const { out, inF, r } = a;
  const R = Float64Array.from(a.weight); // [out, in], becomes R in place
  const vs: Float64Array[] = [];
  const taus: number[] = [];
  for (let j = 0; j < r; j++) {
    // LAPACK dlarfg on column j below the diagonal: beta = -sign(alpha) ||x||
    const alpha = R[j * inF + j]!;
    let xnorm2 = 0;
    for (let i = j + 1; i < out; i++) xnorm2 += R[i * inF + j]! ** 2;
    const v = new Float64Array(out); // Householder vector, v[j] = 1, zero above j
    if (xnorm2 === 0) {
      taus.push(0); // H = I (LAPACK leaves the column as it is)
      vs.push(v);
      continue;
    }
    const beta = -Math.sign(alpha || 1) * Math.sqrt(alpha * alpha + xnorm2);
    const tau = (beta - alpha) / beta;
    v[j] = 1;
    for (let i = j + 1; i < out; i++) v[i] = R[i * inF + j]! / (alpha - beta);
    applyReflector(R, v, tau, j, out, inF);
    vs.push(v);
    taus.push(tau);
  }
  const A = new Float32Array(r * inF);
  for (let i = 0; i < r; i++) for (let c = 0; c < inF; c++) A[i * inF + c] = i > c ? 0 : R[i * inF + c]!;
  // Q[:, :r] = H_0 ... H_{r-1} [I_r; 0]: apply the reflectors in reverse to the first r unit columns
  const Q = new Float64Array(out * r);
  for (let i = 0; i < r; i++) Q[i * r + i] = 1;
  for (let j = r - 1; j >= 0; j--) applyReflector(Q, vs[j]!, taus[j]!, j, out, r);
  return { A, B: Float32Array.from(Q) };
}

/** M <- (I - tau v v^T) M on rows from..end (v is zero above `from`). */
function applyReflector(M: Float64Array, v: Float64Array, tau: number, from: number, rows: number, cols: number): void {
  if (tau === 0) return;
  for (let c = 0; c < cols; c++) {
    let dot = 0;
    for (let i = from; i < rows; i++) dot += v[i]! * M[i * cols + c]!;
    const f = tau * dot;
    for (let i = from; i < rows; i++) M[i * cols + c] -= f * v[i]!;
  }
}

/** Top singular triplets of W [out, in]: U [out, k], S [k] (descending), Vt [k, in], the
 * first r of them meaningful. Randomized range finder (Halko et al. 2011, as
 * torch.svd_lowrank) followed by a one-sided Jacobi SVD of the small projected matrix.
 * Signs are fixed so each column of U has a positive largest entry (SVD signs are
 * arbitrary; s B A and the residual do not depend on them). `iterations`: the subspace
 * iterations run (the exact SVD stops when the top-r Ritz vectors have converged). */
export function topSvd(
  a: WeightInitArgs,
  niter?: number,
): { U: Float64Array; S: Float64Array; Vt: Float64Array; k: number; iterations: number } {
  const { out, inF, r } = a;
  const W = Float64Array.from(a.weight);
  const exact = niter === undefined;
  const k = exact ? Math.min(out, inF, r + Math.max(8, r)) : r; // oversampling only for the exact case
  const Q0 = gaussianMatrix(inF, k, mulberry32(a.seed)); // [in, k]
  let Y = orthonormalColumns(matmulAB(W, Q0, out, inF, k), out, k); // [out, k]
  let lead: Float64Array | null = null;
  const cap = exact ? 500 : niter;
  let iterations = 0;
  for (; iterations < cap; iterations++) {
    if (exact && k === Math.min(out, inF)) break; // the range is the whole space: no iteration needed
    const WtY = matmulAtB(W, Y, out, inF, k); // [in, k]
    if (exact) {
      // Converged when the top-r Ritz vectors stop moving. Only that subspace must
      // converge: the Jacobi step below separates the vectors inside span(Y). Waiting
      // for each column of Y to settle (the test before session 13) never ended on
      // a quantization error's flat spectrum (sigma_8 / sigma_9 ~ 0.99): every
      // stories3M layer ran the full 500 iterations, 1-9 s each, for LoftQ.
      const next = leadingRitzVectors(WtY, Y, out, inF, k, r);
      if (lead && subspaceDistance(lead, next, out, r) <= RITZ_TOL) break;
      lead = next;
    }
    const Q = orthonormalColumns(WtY, inF, k); // W^T Y: [in, k]
    Y = orthonormalColumns(matmulAB(W, Q, out, inF, k), out, k);
  }
  // W ~ Y (Y^T W); M = (Y^T W)^T = W^T Y [in, k]; one-sided Jacobi: M J = Ut S
  const M = matmulAtB(W, Y, out, inF, k);
  const J = jacobiColumns(M, inF, k);
  const S = columnNorms(M, inF, k);
  const order = [...S.keys()].sort((x, y) => S[y]! - S[x]!);
  const U = new Float64Array(out * k);
  const Vt = new Float64Array(k * inF);
  const Ssorted = new Float64Array(k);
  order.forEach((src, dst) => {
    Ssorted[dst] = S[src]!;
    // U[:, dst] = Y J[:, src]
    let big = 0;
    for (let o = 0; o < out; o++) {
      let x = 0;
      for (let t = 0; t < k; t++) x += Y[o * k + t]! * J[t * k + src]!;
      U[o * k + dst] = x;
      if (Math.abs(x) > Math.abs(big)) big = x;
    }
    const sign = big < 0 ? -1 : 1;
    const inv = S[src]! > 0 ? sign / S[src]! : 0;
    for (let o = 0; o < out; o++) U[o * k + dst] *= sign;
    for (let c = 0; c < inF; c++) Vt[dst * inF + c] = M[c * k + src]! * inv;
  });
  return { U, S: Ssorted, Vt, k, iterations };
}

/** How far the top-r Ritz subspace may still move between two iterations when the exact
 * SVD stops: ||U - P P^T U||_F, the sines of the angles between the subspaces; far below
 * f32 rounding (6e-8), which the factors are stored in. */
const RITZ_TOL = 1e-12;

/** The top-r Ritz vectors of W in span(Y) [out, r]: Y J for the r largest columns of the
 * Jacobi rotation J that orthogonalises W^T Y [in, k] (as at the end of topSvd). */
function leadingRitzVectors(WtY: Float64Array, Y: Float64Array, out: number, inF: number, k: number, r: number): Float64Array {
  const M = WtY.slice();
  const J = jacobiColumns(M, inF, k);
  const S = columnNorms(M, inF, k);
  const order = [...S.keys()].sort((x, y) => S[y]! - S[x]!).slice(0, r);
  const U = new Float64Array(out * r);
  for (let o = 0; o < out; o++)
    order.forEach((src, dst) => {
      let x = 0;
      for (let t = 0; t < k; t++) x += Y[o * k + t]! * J[t * k + src]!;
      U[o * r + dst] = x;
    });
  return U;
}

/** ||U - P (P^T U)||_F for orthonormal P, U [rows, r]: 0 when they span the same subspace
 * (computed as a residual, not as r - ||P^T U||^2, which cancels to sqrt(eps) at best). */
function subspaceDistance(P: Float64Array, U: Float64Array, rows: number, r: number): number {
  const C = new Float64Array(r * r); // P^T U
  for (let i = 0; i < rows; i++) for (let a = 0; a < r; a++) for (let b = 0; b < r; b++) C[a * r + b] += P[i * r + a]! * U[i * r + b]!;
  let sum = 0;
  for (let i = 0; i < rows; i++)
    for (let b = 0; b < r; b++) {
      let x = U[i * r + b]!;
      for (let a = 0; a < r; a++) x -= P[i * r + a]! * C[a * r + b]!;
      sum += x * x;
    }
  return Math.sqrt(sum);
}

/** One-sided Jacobi: rotate the columns of M [rows, k] (in place) until they are
 * mutually orthogonal; returns the accumulated rotation J [k, k]. */
function jacobiColumns(M: Float64Array, rows: number, k: number): Float64Array {
  const J = new Float64Array(k * k);
  for (let i = 0; i < k; i++) J[i * k + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < k - 1; p++) {
      for (let q = p + 1; q < k; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < rows; i++) {
          const x = M[i * k + p]!;
          const y = M[i * k + q]!;
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta) || gamma === 0) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotateColumns(M, rows, k, p, q, c, s);
        rotateColumns(J, k, k, p, q, c, s);
      }
    }
    if (!rotated) break;
  }
  return J;
}

function rotateColumns(M: Float64Array, rows: number, k: number, p: number, q: number, c: number, s: number): void {
  for (let i = 0; i < rows; i++) {
    const x = M[i * k + p]!;
    const y = M[i * k + q]!;
    M[i * k + p] = c * x - s * y;
    M[i * k + q] = s * x + c * y;
  }
}

function columnNorms(M: Float64Array, rows: number, k: number): Float64Array {
  const n = new Float64Array(k);
  for (let i = 0; i < rows; i++) for (let c = 0; c < k; c++) n[c] += M[i * k + c]! ** 2;
  return n.map(Math.sqrt);
}

/** Modified Gram-Schmidt, twice (re-orthogonalisation), on the k columns of M [rows, k]. */
function orthonormalColumns(M: Float64Array, rows: number, k: number): Float64Array {
  for (let pass = 0; pass < 2; pass++) {
    for (let c = 0; c < k; c++) {
      for (let p = 0; p < c; p++) {
        let dot = 0;
        for (let i = 0; i < rows; i++) dot += M[i * k + p]! * M[i * k + c]!;
        for (let i = 0; i < rows; i++) M[i * k + c] -= dot * M[i * k + p]!;
      }
      let norm = 0;
      for (let i = 0; i < rows; i++) norm += M[i * k + c]! ** 2;
      norm = Math.sqrt(norm);
      for (let i = 0; i < rows; i++) M[i * k + c] = norm > 0 ? M[i * k + c]! / norm : 0;
    }
  }
  return M;
}

/** W [out, in] times X [in, k] -> [out, k] */
function matmulAB(W: Float64Array, X: Float64Array, out: number, inF: number, k: number): Float64Array {
  const Y = new Float64Array(out * k);
  for (let o = 0; o < out; o++) {
    for (let c = 0; c < inF; c++) {
      const w = W[o * inF + c]!;
      if (w === 0) continue;
      for (let t = 0; t < k; t++) Y[o * k + t] += w * X[c * k + t]!;
    }
  }
  return Y;
}

/** W^T [in, out] times Y [out, k] -> [in, k] */
function matmulAtB(W: Float64Array, Y: Float64Array, out: number, inF: number, k: number): Float64Array {
  const Z = new Float64Array(inF * k);
  for (let o = 0; o < out; o++) {
    for (let c = 0; c < inF; c++) {
      const w = W[o * inF + c]!;
      if (w === 0) continue;
      for (let t = 0; t < k; t++) Z[c * k + t] += w * Y[o * k + t]!;
    }
  }
  return Z;
}

function gaussianMatrix(rows: number, cols: number, rng: Rng): Float64Array {
  const M = new Float64Array(rows * cols);
  for (let i = 0; i < M.length; i++) M[i] = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  return M;
}
