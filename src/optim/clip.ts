import type { Tensor } from '../tensor/tensor.js';

/** Global L2 norm of the gradients; scales them down to maxNorm when above it
 * (maxNorm <= 0 only measures). Returns the norm before clipping. */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  let sq = 0;
  for (const p of params) if (p.grad) sq += p.backend.sumSquares(p.grad.f32);
  const norm = Math.sqrt(sq);
  if (maxNorm > 0 && norm > maxNorm && Number.isFinite(norm)) {
    const s = maxNorm / (norm + 1e-6);
    for (const p of params) if (p.grad) p.backend.axpby(s, p.grad.f32, 0, p.grad.f32);
  }
  return norm;
}
