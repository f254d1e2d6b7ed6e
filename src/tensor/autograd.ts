import type { Tensor } from './tensor.js';

/** How to push a gradient through one recorded op: returns one gradient per
 * input (null where the input needs none). Called with gradients disabled. */
export interface GradFn {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  backward(gradOut: Tensor): (Tensor | null)[];
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run fn without recording: inference, evaluation, optimizer updates, merges. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Run fn recording the graph even inside noGrad or a backward sweep
 * (activation checkpointing re-runs a forward pass from within backward). */
export function withGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Attach a GradFn to `out` when recording and some input needs a gradient.
 * Frozen inputs (requiresGrad false) make no graph and cost nothing. */
export function record(out: Tensor, name: string, inputs: readonly Tensor[], backward: (gradOut: Tensor) => (Tensor | null)[]): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.gradFn = { name, inputs, backward };
  }
  return out;
}

/** Reverse-mode sweep from `root`. Leaves that require grad accumulate into
 * `.grad`; intermediate gradients are dropped as soon as they are consumed, and so
 * is each op's record once its gradient has gone through it (as PyTorch frees
 * saved tensors without retain_graph): the activations an op kept for backward can
 * be collected while the sweep goes on, instead of all living until its end (the
 * peak of a training step's memory, issue #7). A second backward through the same
 * graph therefore throws; run the forward pass again. */
export function backward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) throw new Error('backward(): the tensor does not require grad (nothing trainable reached it)');
  if (!grad && root.size !== 1) throw new Error(`backward() without a gradient needs a scalar, got shape [${root.shape.join(', ')}]`);
  const order = topoOrder(root);
  const grads = new Map<Tensor, Tensor>();
  // Gradients this sweep allocated itself may be summed into in place; those an
  // op returned may alias other tensors (add passes its gradient to both inputs).
  const owned = new Set<Tensor>();
  grads.set(root, grad ?? onesLike(root));
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      order[i] = null; // the sweep's own reference: let processed tensors go
      const g = grads.get(t);
      const fn = t.gradFn;
      if (fn) t.gradFn = releasedGradFn(fn.name);
      if (!g) continue;
      grads.delete(t);
      if (!fn) {
        accumulateLeaf(t, g);
        continue;
      }
      const inputGrads = fn.backward(g);
      fn.inputs.forEach((input, j) => {
        const gi = inputGrads[j];
        if (!gi || !input.requiresGrad) return;
        const prevGrad = grads.get(input);
        if (!prevGrad) grads.set(input, gi);
        else if (owned.has(prevGrad)) prevGrad.backend.axpby(1, gi.f32, 1, prevGrad.f32);
        else {
          const sum = addF32(prevGrad, gi); // one pass, not a copy and then an add
          owned.add(sum);
          grads.set(input, sum);
        }
      });
    }
  } finally {
    gradEnabled = prev;
  }
}

/** What an op's record becomes once backward went through it: no inputs, no
 * saved tensors, and a clear error if a second backward reaches it. */
function releasedGradFn(name: string): GradFn {
  return {
    name,
    inputs: [],
    backward() {
      throw new Error(`backward(): the graph through ${name} was already backpropagated and freed; run the forward pass again`);
    },
  };
}

/** Tensors reachable from root, inputs before the ops that use them. */
function topoOrder(root: Tensor): (Tensor | null)[] {
  const order: (Tensor | null)[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    for (const input of t.gradFn?.inputs ?? []) if (input.requiresGrad && !seen.has(input)) stack.push([input, false]);
  }
  return order;
}

function accumulateLeaf(t: Tensor, g: Tensor): void {
  // The leaf owns its gradient storage: g may alias another tensor.
  if (!t.grad) t.grad = cloneF32(g, t.shape);
  else t.backend.axpby(1, g.f32, 1, t.grad.f32);
}

type TensorCtor = new (data: Float32Array, shape: readonly number[], dtype: 'f32', backend: Tensor['backend']) => Tensor;

function cloneF32(g: Tensor, shape: readonly number[] = g.shape): Tensor {
  const data = g.backend.empty('f32', g.size) as Float32Array;
  data.set(g.f32);
  return new (g.constructor as TensorCtor)(data, shape, 'f32', g.backend);
}

/** a + b in a new tensor (same shapes, f32, contiguous). */
function addF32(a: Tensor, b: Tensor): Tensor {
  const data = a.backend.empty('f32', a.size) as Float32Array;
  a.backend.binary({ op: 'add', a: a.f32, aStrides: [1], b: b.f32, bStrides: [1], out: data, shape: [a.size] });
  return new (a.constructor as TensorCtor)(data, a.shape, 'f32', a.backend);
}

function onesLike(t: Tensor): Tensor {
  const data = t.backend.alloc('f32', t.size) as Float32Array;
  data.fill(1);
  return new (t.constructor as TensorCtor)(data, t.shape, 'f32', t.backend);
}
