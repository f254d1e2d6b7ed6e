import { ColaError } from '../errors.js';
import type { LoraLinear } from './loraLinear.js';

/** One step of a module's chain: W <- diag(rowScale) (W + scale B A), with A [r, in],
 * B [out, r] (f32). rowScale [out] is DoRA's factor m_j / ||W + s_j B_j A_j||_row at the
 * link's knot; absent = 1 (plain LoRA, and a PiSSA/OLoRA init fold, which is the link
 * (A0, -B0): the residual W - s B0 A0). */
export interface ChainLink {
  A: Float32Array;
  B: Float32Array;
  r: number;
  scale: number;
  rowScale?: Float32Array;
}

/** A copy of a layer's current adapter, taken before the knot (merge + reset), preceded
 * by its init fold when the link started from the weight (PiSSA/OLoRA). */
export function captureLink(layer: LoraLinear): ChainLink[] {
  const out: ChainLink[] = [];
  if (layer.initFactors) out.push(initFoldLink(layer.initFactors.A, layer.initFactors.B, layer.r, layer.scaling));
  const rowScale = layer.doraFactor() ?? undefined;
  out.push({ A: layer.lora_A.f32.slice(), B: layer.lora_B.f32.slice(), r: layer.r, scale: layer.scaling, rowScale });
  return out;
}

/** The init fold W <- W - s B0 A0 as a link: (A0, -B0). */
export function initFoldLink(A0: Float32Array, B0: Float32Array, r: number, scale: number): ChainLink {
  return { A: A0, B: B0.map((x) => -x), r, scale };
}

/** The whole chain of one module as ONE LoRA (method.md sec. 4): the update
 * sum_j s_j B_j A_j equals s * B A with
 *   A = [A_1; ...; A_L]                      [R, in], rows stacked,
 *   B = [B_1 s_1/s, ..., B_L s_L/s]          [out, R], columns concatenated,
 * R = sum_j r_j and s = targetScale, the scale the exported adapter will have.
 * With DoRA row scales c_j (W_j = diag(c_j)(W_{j-1} + D_j)), unrolling gives
 *   W_L = diag(P_L) (W_0 + sum_j diag(1 / P_{j-1}) D_j),   P_j = c_1 ... c_j,
 * so link j's B rows are also divided by P_{j-1}; the row scale of the last link is the
 * exported DoRA magnitude's business (its m; see saveChainAdapter). The result's rowScale
 * is the product P over all links (absent when no link has one). */
export function stackChain(links: readonly ChainLink[], targetScale: number): ChainLink {
  if (links.length === 0) throw new ColaError('stackChain: the chain has no links');
  if (!(targetScale > 0) || !Number.isFinite(targetScale))
    throw new ColaError(`stackChain: targetScale must be a positive number, got ${targetScale}`);
  const inF = links[0]!.A.length / links[0]!.r;
  const out = links[0]!.B.length / links[0]!.r;
  links.forEach((l, j) => {
    if (!Number.isInteger(l.r) || l.r <= 0 || l.A.length !== l.r * inF || l.B.length !== out * l.r) {
      throw new ColaError(
        `stackChain: link ${j} has r = ${l.r}, A of ${l.A.length} and B of ${l.B.length} values; expected A [r, ${inF}] and B [${out}, r]`,
      );
    }
  });
  const R = links.reduce((n, l) => n + l.r, 0);
  const A = new Float32Array(R * inF); // [R, in]
  const B = new Float32Array(out * R); // [out, R]
  const P = new Float64Array(out).fill(1); // running product of the row scales so far
  let col = 0;
  for (const l of links) {
    A.set(l.A, col * inF);
    const ratio = l.scale / targetScale;
    for (let o = 0; o < out; o++) {
      const f = P[o] === 1 ? ratio : ratio / P[o]!;
      for (let k = 0; k < l.r; k++) B[o * R + col + k] = l.B[o * l.r + k]! * f;
      if (l.rowScale) P[o] *= l.rowScale[o]!;
    }
    col += l.r;
  }
  const scaled = links.some((l) => l.rowScale);
  return { A, B, r: R, scale: targetScale, ...(scaled ? { rowScale: Float32Array.from(P) } : {}) };
}
