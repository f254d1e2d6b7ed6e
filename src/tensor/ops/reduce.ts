import { record } from '../autograd.js';
import { Tensor, contiguousStrides } from '../tensor.js';
import { zeros } from './creation.js';

/** Sum over one axis (keepdim) or over everything (a scalar of shape [1]). */
export function sum(x: Tensor, axis?: number): Tensor {
  if (axis === undefined) {
    const out = zeros(x.backend, [1]);
    x.backend.reduceSum({ x: x.f32, outer: 1, mid: x.size, inner: 1, out: out.f32, accumulate: false });
    return record(out, 'sum', [x], (g) => [broadcastTo(g, x.shape)]);
  }
  const ax = axis < 0 ? x.rank + axis : axis;
  const { outer, mid, inner } = split(x.shape, ax);
  const shape = x.shape.map((d, i) => (i === ax ? 1 : d));
  const out = zeros(x.backend, shape);
  x.backend.reduceSum({ x: x.f32, outer, mid, inner, out: out.f32, accumulate: false });
  return record(out, 'sum', [x], (g) => [broadcastTo(g, x.shape)]);
}

function split(shape: readonly number[], ax: number): { outer: number; mid: number; inner: number } {
  let outer = 1;
  let inner = 1;
  shape.forEach((d, i) => {
    if (i < ax) outer *= d;
    if (i > ax) inner *= d;
  });
  return { outer, mid: shape[ax]!, inner };
}

/** Repeat x (whose shape broadcasts to `shape`, aligned right) into a new tensor. */
function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const out = zeros(x.backend, shape);
  x.backend.copyStrided({
    src: x.data,
    srcOffset: 0,
    srcStrides: broadcastStrides(x.shape, shape),
    dst: out.data,
    dstOffset: 0,
    dstStrides: contiguousStrides(shape),
    shape,
    accumulate: false,
  });
  return out;
}

/** Strides reading x as if it had `shape` (0 on broadcast axes). */
export function broadcastStrides(xShape: readonly number[], shape: readonly number[]): number[] {
  const xs = contiguousStrides(xShape);
  const off = shape.length - xShape.length;
  return shape.map((d, i) => {
    const xd = i < off ? 1 : xShape[i - off]!;
    if (xd !== d && xd !== 1) throw new Error(`cannot broadcast [${xShape.join(', ')}] to [${shape.join(', ')}]`);
    return xd === 1 ? 0 : xs[i - off]!;
  });
}

/** Sum g down to `shape` (the inverse of broadcasting), for gradients. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  let cur = g;
  const off = g.rank - shape.length;
  for (let ax = 0; ax < g.rank; ax++) {
    const want = ax < off ? 1 : shape[ax - off]!;
    if (cur.shape[ax] === want) continue;
    const { outer, mid, inner } = split(cur.shape, ax);
    const next = zeros(
      g.backend,
      cur.shape.map((d, i) => (i === ax ? 1 : d)),
    );
    g.backend.reduceSum({ x: cur.f32, outer, mid, inner, out: next.f32, accumulate: false });
    cur = next;
  }
  return new Tensor(cur.data, [...shape], 'f32', g.backend);
}
