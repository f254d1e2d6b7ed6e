import type { Backend, DType, Storage } from '../backend/backend.js';
import { backward as runBackward, type GradFn } from './autograd.js';
import { bumpVersion, writeVersion } from './version.js';

/** A dense, contiguous, row-major array on one backend, with optional gradient.
 * Kept thin on purpose: ops live in src/tensor/ops/, autograd in autograd.ts. */
export class Tensor {
  /** Set by autograd for tensors produced by a differentiable op. */
  gradFn: GradFn | null = null;
  /** Accumulated gradient of a leaf that requires grad (f32, same shape). */
  grad: Tensor | null = null;

  constructor(
    readonly data: Storage,
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly backend: Backend,
    public requiresGrad = false,
  ) {
    const n = shapeSize(shape);
    if (n !== data.length) {
      throw new Error(`Tensor: shape [${shape.join(', ')}] holds ${n} elements but storage has ${data.length}`);
    }
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Size of one axis; negative axes count from the end. */
  dim(axis: number): number {
    const a = axis < 0 ? this.shape.length + axis : axis;
    const d = this.shape[a];
    if (d === undefined) throw new Error(`axis ${axis} out of range for shape [${this.shape.join(', ')}]`);
    return d;
  }

  get f32(): Float32Array {
    if (this.dtype !== 'f32') throw new Error(`expected an f32 tensor, got ${this.dtype}`);
    return this.data as Float32Array;
  }

  get i32(): Int32Array {
    if (this.dtype !== 'i32') throw new Error(`expected an i32 tensor, got ${this.dtype}`);
    return this.data as Int32Array;
  }

  /** Value of a one-element tensor (f32 or i32). */
  item(): number {
    if (this.size !== 1) throw new Error(`item() needs one element, shape is [${this.shape.join(', ')}]`);
    if (this.dtype === 'bf16') throw new Error('item() of a bf16 tensor: cast to f32 first');
    return this.data[0] as number;
  }

  /** Overwrite every value with `values` (same length and storage kind: a
   * checkpoint restore). Writes after creation go through here or `update`, which
   * bump the write version, so caches of the values (a packed weight) are rebuilt. */
  assign(values: Storage): void {
    if (values.length !== this.size || values.constructor !== this.data.constructor) {
      throw new Error(`Tensor.assign: ${this} takes ${this.size} values of its own kind, got ${values.constructor.name}(${values.length})`);
    }
    this.data.set(values as never);
    bumpVersion(this.data.buffer);
  }

  /** Modify the values in place with `write` (a merge, an optimizer step), then
   * bump the write version like `assign`. */
  update(write: (data: Storage) => void): void {
    write(this.data);
    bumpVersion(this.data.buffer);
  }

  /** How many times this tensor's memory was written by assign/update (shared by
   * every tensor viewing the same storage). */
  get version(): number {
    return writeVersion(this.data.buffer);
  }

  /** Backpropagate from this scalar (or with an explicit upstream gradient). */
  backward(grad?: Tensor): void {
    runBackward(this, grad);
  }

  /** A leaf sharing this storage, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, this.dtype, this.backend, false);
  }

  toString(): string {
    return `Tensor(${this.dtype}[${this.shape.join(', ')}] on ${this.backend.name})`;
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

/** Row-major strides of a contiguous shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}
