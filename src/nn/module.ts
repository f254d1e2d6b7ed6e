import { Tensor } from '../tensor/tensor.js';

/** Base of every layer. Parameters and children are found by walking the own
 * properties, so a parameter's name is its property path and equals the
 * checkpoint key (`model.layers.0.self_attn.q_proj.weight`). Arrays of modules
 * are module lists (`layers.0`). Properties starting with `_` are private state. */
export abstract class Module {
  /** Child modules and parameters, in property order. */
  *children(): Generator<[string, Module | Tensor]> {
    for (const [key, value] of Object.entries(this)) {
      if (key.startsWith('_')) continue;
      if (value instanceof Module || value instanceof Tensor) yield [key, value];
      else if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item instanceof Module) yield [`${key}.${i}`, item];
        }
      }
    }
  }

  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [key, child] of this.children()) {
      if (child instanceof Module) yield* child.namedModules(prefix ? `${prefix}.${key}` : key);
    }
  }

  *namedParameters(prefix = ''): Generator<[string, Tensor]> {
    for (const [key, child] of this.children()) {
      const name = prefix ? `${prefix}.${key}` : key;
      if (child instanceof Tensor) yield [name, child];
      else yield* child.namedParameters(name);
    }
  }

  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, t]) => t);
  }

  trainableParameters(): [string, Tensor][] {
    return [...this.namedParameters()].filter(([, t]) => t.requiresGrad);
  }

  /** Freeze (or unfreeze) every parameter below this module. */
  requiresGrad(flag: boolean): this {
    for (const t of this.parameters()) t.requiresGrad = flag;
    return this;
  }

  zeroGrad(): void {
    for (const t of this.parameters()) t.grad = null;
  }

  /** Replace the child at a dotted path (used by LoRA injection and merges). */
  setChild(path: string, child: Module): void {
    const parts = path.split('.');
    const last = parts.pop()!;
    const owner = parts.reduce<unknown>((o, p) => (o as Record<string, unknown>)[p], this);
    if (Array.isArray(owner)) owner[Number(last)] = child;
    else (owner as Record<string, unknown>)[last] = child;
  }

  getModule(path: string): Module {
    const cur = path.split('.').reduce<unknown>((o, p) => (o as Record<string, unknown>)[p], this);
    if (!(cur instanceof Module)) throw new Error(`no module at ${path}`);
    return cur;
  }
}

/** Count of elements in a parameter list. */
export function countParameters(params: Iterable<Tensor>): number {
  let n = 0;
  for (const p of params) n += p.size;
  return n;
}
