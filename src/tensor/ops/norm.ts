import type { FloatArray } from '../../backend/backend.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { empty } from './creation.js';

/** RMSNorm over the last axis (Llama): x / sqrt(mean(x^2) + eps) * weight. */
export function rmsNorm(x: Tensor, weight: Tensor | null, eps: number): Tensor {
  const cols = x.dim(-1);
  const rows = x.size / cols;
  const out = empty(x.backend, x.shape);
  const rstd = empty(x.backend, [rows]);
  const w = (weight?.data ?? null) as FloatArray | null;
  x.backend.rmsNorm({ x: x.f32, weight: w, out: out.f32, rstd: rstd.f32, rows, cols, eps });
  const inputs = weight ? [x, weight] : [x];
  return record(out, 'rmsNorm', inputs, (g) => {
    const gx = x.requiresGrad ? empty(x.backend, x.shape) : null;
    const gw = weight?.requiresGrad ? empty(x.backend, weight.shape) : null;
    x.backend.rmsNormBackward({
      x: x.f32,
      weight: w,
      rstd: rstd.f32,
      dy: g.f32,
      dx: gx?.f32 ?? null,
      dWeight: gw?.f32 ?? null,
      rows,
      cols,
      accumulate: false,
    });
    return [gx, gw];
  });
}

/** LayerNorm over the last axis (OPT, GPT-2). */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  const cols = x.dim(-1);
  const rows = x.size / cols;
  const out = empty(x.backend, x.shape);
  const mean = empty(x.backend, [rows]);
  const rstd = empty(x.backend, [rows]);
  const w = (weight?.data ?? null) as FloatArray | null;
  const b = (bias?.data ?? null) as FloatArray | null;
  x.backend.layerNorm({ x: x.f32, weight: w, bias: b, out: out.f32, mean: mean.f32, rstd: rstd.f32, rows, cols, eps });
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return record(out, 'layerNorm', inputs, (g) => {
    const gx = x.requiresGrad ? empty(x.backend, x.shape) : null;
    const gw = weight?.requiresGrad ? empty(x.backend, weight.shape) : null;
    const gb = bias?.requiresGrad ? empty(x.backend, bias.shape) : null;
    x.backend.layerNormBackward({
      x: x.f32,
      weight: w,
      mean: mean.f32,
      rstd: rstd.f32,
      dy: g.f32,
      dx: gx?.f32 ?? null,
      dWeight: gw?.f32 ?? null,
      dBias: gb?.f32 ?? null,
      rows,
      cols,
      accumulate: false,
    });
    return [gx, ...(weight ? [gw] : []), ...(bias ? [gb] : [])];
  });
}
