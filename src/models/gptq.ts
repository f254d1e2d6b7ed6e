/** GPTQ for one linear layer (Frantar et al. 2022, "GPTQ: Accurate Post-Training
 * Quantization for Generative Pre-trained Transformers", Algorithm 1), into cola's
 * quantized formats without changing them (issue 17): only which codes are chosen.
 *
 * Round-to-nearest minimises each weight's own error; GPTQ minimises the layer's output
 * error on calibration inputs X, sum |X W^T - X Q^T|^2 = tr((W - Q) H (W - Q)^T) with
 * H = X^T X. It quantizes the input columns in order and moves each column's rounding
 * error onto the columns not yet quantized through the upper Cholesky factor U of H^-1
 * (H dampened by `damp` x its mean diagonal, GPTQ's percdamp). Groups are the format's
 * blocks along the input dimension: a block's scale is the one round-to-nearest gives
 * the block's weights as they stand when the block starts (GPTQ's groupsize option),
 * int8's one row scale comes from the unmoved row. Columns are taken in their natural
 * order (no act-order), so codes depend only on W, H and the format.
 *
 * Cost for W [out, in]: O(in^3) for the factorizations, O(out * in^2) for the updates,
 * 3 x in^2 f64 of memory; in is capped at GPTQ_MAX_IN. */
import { blockGrid, writeBlock, type BlockGrid } from '../backend/quant/blockGrid.js';
import { blocksPerRow, quantLayout, rowBytes, scaleCount, type QuantFormat, type QuantWeight } from '../backend/quant/format.js';

/** GPTQ's default dampening: 1% of the mean diagonal of H. */
export const GPTQ_DEFAULT_DAMP = 0.01;
/** The widest input dimension solved (three in x in f64 matrices: 1.5 GiB at 8192). */
export const GPTQ_MAX_IN = 8192;

export interface GptqLayerArgs {
  /** W [rows = out, cols = in], row-major */
  weight: Float32Array;
  rows: number;
  cols: number;
  format: QuantFormat;
  /** X^T X [cols, cols], row-major: the sum over calibration tokens of x x^T */
  xtx: Float64Array;
  /** dampening, a fraction of H's mean diagonal (default GPTQ_DEFAULT_DAMP) */
  damp?: number;
}

/** W quantized with GPTQ: a QuantWeight of the same layout as codec.ts quantize() writes. */
export function gptqQuantize(a: GptqLayerArgs): QuantWeight {
  const { rows, cols, format } = a;
  if (format === 'int8g') throw new RangeError('gptqQuantize: int8g is a file format (llama2.c), not a --quantize choice');
  if (a.weight.length !== rows * cols || a.xtx.length !== cols * cols)
    throw new RangeError(`gptqQuantize: W must be ${rows} x ${cols} and X^T X ${cols} x ${cols}`);
  if (cols > GPTQ_MAX_IN) throw new RangeError(`gptqQuantize: ${cols} inputs is over the ${GPTQ_MAX_IN} GPTQ solves (O(in^3))`);
  const U = inverseHessianFactor(a.xtx, cols, a.damp ?? GPTQ_DEFAULT_DAMP);
  const W = Float64Array.from(a.weight);
  const { block, blockBytes } = quantLayout(format, cols);
  const nb = blocksPerRow(format, cols);
  const data = new Uint8Array(rows * rowBytes(format, cols));
  const scales = scaleCount(format, rows, cols) ? new Float32Array(scaleCount(format, rows, cols)) : null;
  const buf = new Float32Array(block);
  const codes = new Uint8Array(rows * block);
  const grids: BlockGrid[] = new Array<BlockGrid>(rows);
  for (let b = 0; b < nb; b++) {
    const start = b * block;
    const len = Math.min(block, cols - start);
    for (let r = 0; r < rows; r++) {
      buf.fill(0);
      for (let i = 0; i < len; i++) buf[i] = W[r * cols + start + i]!;
      grids[r] = blockGrid(format, buf);
      codes.fill(grids[r]!.code(0), r * block + len, (r + 1) * block); // padding: the code of 0, as quantize()
    }
    for (let j = start; j < start + len; j++) quantizeColumn(W, U, { j, rows, cols, grids, codes, at: j - start, block });
    for (let r = 0; r < rows; r++) {
      const scale = writeBlock(grids[r]!, codes.subarray(r * block, (r + 1) * block), data, (r * nb + b) * blockBytes);
      if (scales) scales[r * nb + b] = scale;
    }
  }
  return { format, rows, cols, data, scales };
}

interface ColumnStep {
  j: number;
  rows: number;
  cols: number;
  grids: BlockGrid[];
  /** [rows, block]: the current block's codes */
  codes: Uint8Array;
  /** column j's place in its block */
  at: number;
  block: number;
}

/** Column j of every row: its code, then its error (w - q) / U_jj moved onto the columns
 * after it, W[:, k] -= err * U[j, k] (Algorithm 1's inner update, one column at a time). */
function quantizeColumn(W: Float64Array, U: Float64Array, s: ColumnStep): void {
  const { j, rows, cols, grids } = s;
  const ujj = U[j * cols + j]!;
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    const w = W[row + j]!;
    const q = grids[r]!.code(w);
    s.codes[r * s.block + s.at] = q;
    const err = (w - grids[r]!.value(q)) / ujj;
    if (err === 0) continue;
    for (let k = j + 1; k < cols; k++) W[row + k]! -= err * U[j * cols + k]!;
  }
}

/** U [n, n] (row-major, upper triangular) with U^T U = (H + λI)^-1, λ = damp x mean diag(H).
 * A dead input (H_ii = 0: never nonzero on the calibration data) gets H_ii = 1 first, as
 * GPTQ does, so H stays positive definite; its weights are kept (GPTQ zeroes them: here
 * the base must stay the model it is on other inputs). */
export function inverseHessianFactor(xtx: Float64Array, n: number, damp: number): Float64Array {
  const H = Float64Array.from(xtx);
  let mean = 0;
  for (let i = 0; i < n; i++) {
    if (H[i * n + i]! <= 0) H[i * n + i] = 1;
    mean += H[i * n + i]! / n;
  }
  for (let i = 0; i < n; i++) H[i * n + i]! += damp * mean;
  const L = cholesky(H, n);
  const Hinv = inverseFromCholesky(L, n);
  const L2 = cholesky(Hinv, n);
  // U = L2^T
  const U = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = i; k < n; k++) U[i * n + k] = L2[k * n + i]!;
  return U;
}

/** Lower-triangular L with L L^T = A (A symmetric positive definite, row-major). */
export function cholesky(A: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) throw new RangeError(`GPTQ: the dampened Hessian is not positive definite at column ${i} (raise the dampening)`);
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j]!;
    }
  }
  return L;
}

/** A^-1 = L^-T L^-1 from A's Cholesky factor L. */
function inverseFromCholesky(L: Float64Array, n: number): Float64Array {
  // M = L^-1 (lower triangular), by forward substitution column by column
  const M = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    M[j * n + j] = 1 / L[j * n + j]!;
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= L[i * n + k]! * M[k * n + j]!;
      M[i * n + j] = s / L[i * n + i]!;
    }
  }
  // A^-1[i][j] = sum_k M[k][i] M[k][j], k >= max(i, j)
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += M[k * n + i]! * M[k * n + j]!;
      inv[i * n + j] = s;
      inv[j * n + i] = s;
    }
  }
  return inv;
}
