import type { Backend, DType } from '../../backend/backend.js';
import { Tensor, shapeSize } from '../tensor.js';

/** A zero-filled tensor (backends zero on alloc). */
export function zeros(backend: Backend, shape: readonly number[], dtype: DType = 'f32'): Tensor {
  return new Tensor(backend.alloc(dtype, shapeSize(shape)), [...shape], dtype, backend);
}

/** A tensor whose contents are unspecified: only for outputs that a primitive
 * overwrites entirely (on the reference backend it is zero-filled). */
export function empty(backend: Backend, shape: readonly number[], dtype: DType = 'f32'): Tensor {
  return new Tensor(backend.empty(dtype, shapeSize(shape)), [...shape], dtype, backend);
}

/** Copy values into backend storage (f32 -> bf16 rounds to nearest even). */
export function tensor(
  backend: Backend,
  values: ArrayLike<number>,
  shape: readonly number[],
  dtype: DType = 'f32',
  requiresGrad = false,
): Tensor {
  if (values.length !== shapeSize(shape)) {
    throw new Error(`tensor(): ${values.length} values do not fill shape [${shape.join(', ')}]`);
  }
  const t = zeros(backend, shape, dtype);
  if (dtype === 'bf16') backend.castToBf16(Float32Array.from(values), t.data as Uint16Array);
  else (t.data as Float32Array | Int32Array).set(values);
  t.requiresGrad = requiresGrad;
  return t;
}

/** A trainable leaf (f32). */
export function parameter(backend: Backend, values: ArrayLike<number>, shape: readonly number[]): Tensor {
  return tensor(backend, values, shape, 'f32', true);
}

/** Same values on another dtype (f32 <-> bf16), not differentiable through bf16. */
export function cast(x: Tensor, dtype: 'f32' | 'bf16'): Tensor {
  if (x.dtype === dtype) return x;
  const out = zeros(x.backend, x.shape, dtype);
  if (dtype === 'bf16') x.backend.castToBf16(x.f32, out.data as Uint16Array);
  else x.backend.castToF32(x.data as Uint16Array, out.f32);
  return out;
}
