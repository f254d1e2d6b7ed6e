import { ColaError } from '../errors.js';
import type { LoraLinear } from './loraLinear.js';

/** One link's adapter for one module: A [r, in], B [out, r] (f32) and its scale s_j. */
export interface ChainLink {
  A: Float32Array;
  B: Float32Array;
  r: number;
  scale: number;
}

/** A copy of a layer's current adapter, taken before the knot (merge + reset). */
export function captureLink(layer: LoraLinear): ChainLink {
  return { A: layer.lora_A.f32.slice(), B: layer.lora_B.f32.slice(), r: layer.r, scale: layer.scaling };
}

/** The whole chain of one module as ONE LoRA (method.md sec. 4): the update
 * sum_j s_j B_j A_j equals s * B A with
 *   A = [A_1; ...; A_L]                      [R, in], rows stacked,
 *   B = [B_1 s_1/s, ..., B_L s_L/s]          [out, R], columns concatenated,
 * R = sum_j r_j and s = targetScale, the scale the exported adapter will have. */
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
  let col = 0;
  for (const l of links) {
    A.set(l.A, col * inF);
    const ratio = l.scale / targetScale;
    for (let o = 0; o < out; o++) {
      for (let k = 0; k < l.r; k++) B[o * R + col + k] = l.B[o * l.r + k]! * ratio;
    }
    col += l.r;
  }
  return { A, B, r: R, scale: targetScale };
}
