import { record } from '../autograd.js';
import { Tensor, contiguousStrides, shapeSize } from '../tensor.js';
import { empty, zeros } from './creation.js';

/** Same storage, new shape (tensors are always contiguous). One -1 is inferred. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const resolved = resolveShape(x, shape);
  const out = new Tensor(x.data, resolved, x.dtype, x.backend);
  return record(out, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

function resolveShape(x: Tensor, shape: readonly number[]): number[] {
  const known = shape.filter((d) => d !== -1);
  const inferred = shape.length - known.length;
  if (inferred > 1) throw new Error('reshape: at most one -1');
  const rest = shapeSize(known);
  const resolved = shape.map((d) => (d === -1 ? x.size / rest : d));
  if (shapeSize(resolved) !== x.size || resolved.some((d) => !Number.isInteger(d))) {
    throw new Error(`reshape: cannot view [${x.shape.join(', ')}] as [${shape.join(', ')}]`);
  }
  return resolved;
}

/** Reorder axes: out.shape[i] = x.shape[perm[i]] (a copy, since tensors are contiguous). */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const xStrides = contiguousStrides(x.shape);
  const shape = perm.map((p) => x.shape[p]!);
  const out = empty(x.backend, shape, x.dtype);
  x.backend.copyStrided({
    src: x.data,
    srcOffset: 0,
    srcStrides: perm.map((p) => xStrides[p]!),
    dst: out.data,
    dstOffset: 0,
    dstStrides: contiguousStrides(shape),
    shape,
    accumulate: false,
  });
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return record(out, 'permute', [x], (g) => [permute(g, inverse)]);
}

/** Swap two axes. */
export function transpose(x: Tensor, a: number, b: number): Tensor {
  const perm = x.shape.map((_, i) => i);
  const ax = a < 0 ? x.rank + a : a;
  const bx = b < 0 ? x.rank + b : b;
  [perm[ax], perm[bx]] = [perm[bx]!, perm[ax]!];
  return permute(x, perm);
}

/** x[..., start:end, ...] along `axis`. */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const ax = axis < 0 ? x.rank + axis : axis;
  const len = x.shape[ax]!;
  if (start < 0 || end > len || start > end) throw new Error(`slice [${start}, ${end}) out of range 0..${len} on axis ${ax}`);
  const shape = x.shape.map((d, i) => (i === ax ? end - start : d));
  const strides = contiguousStrides(x.shape);
  const out = empty(x.backend, shape, x.dtype);
  x.backend.copyStrided({
    src: x.data,
    srcOffset: start * strides[ax]!,
    srcStrides: strides,
    dst: out.data,
    dstOffset: 0,
    dstStrides: contiguousStrides(shape),
    shape,
    accumulate: false,
  });
  return record(out, 'slice', [x], (g) => {
    const gx = zeros(x.backend, x.shape);
    x.backend.copyStrided({
      src: g.data,
      srcOffset: 0,
      srcStrides: contiguousStrides(shape),
      dst: gx.data,
      dstOffset: start * strides[ax]!,
      dstStrides: strides,
      shape,
      accumulate: false,
    });
    return [gx];
  });
}

/** Join tensors along `axis`. */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  const first = xs[0];
  if (!first) throw new Error('concat of nothing');
  const ax = axis < 0 ? first.rank + axis : axis;
  const total = xs.reduce((s, t) => s + t.shape[ax]!, 0);
  const shape = first.shape.map((d, i) => (i === ax ? total : d));
  const outStrides = contiguousStrides(shape);
  const out = empty(first.backend, shape, first.dtype);
  const offsets: number[] = [];
  let at = 0;
  for (const t of xs) {
    offsets.push(at);
    first.backend.copyStrided({
      src: t.data,
      srcOffset: 0,
      srcStrides: contiguousStrides(t.shape),
      dst: out.data,
      dstOffset: at * outStrides[ax]!,
      dstStrides: outStrides,
      shape: t.shape,
      accumulate: false,
    });
    at += t.shape[ax]!;
  }
  return record(out, 'concat', xs, (g) =>
    xs.map((t, i) => {
      if (!t.requiresGrad) return null;
      const gt = zeros(t.backend, t.shape);
      t.backend.copyStrided({
        src: g.data,
        srcOffset: offsets[i]! * outStrides[ax]!,
        srcStrides: outStrides,
        dst: gt.data,
        dstOffset: 0,
        dstStrides: contiguousStrides(t.shape),
        shape: t.shape,
        accumulate: false,
      });
      return gt;
    }),
  );
}
