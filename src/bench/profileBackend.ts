// A Backend that times every primitive call (wall clock, synchronous calls), so a
// training step's time splits into primitives plus the JavaScript around them.
// Matmuls are keyed by shape and dtype: they are most of the work.

import type { Backend, MatmulArgs } from '../backend/backend.js';

export interface ProfileRow {
  name: string;
  calls: number;
  ms: number;
}

interface ProfiledBackend {
  backend: Backend;
  /** Rows since the last reset, slowest first. */
  rows(): ProfileRow[];
  reset(): void;
}

function matmulKey(a: MatmulArgs): string {
  const dt = a.aDtype === 'bf16' || a.bDtype === 'bf16' ? 'bf16' : 'f32';
  const t = `${a.transA ? 'T' : 'N'}${a.transB ? 'T' : 'N'}`;
  return `matmul ${dt} ${t} ${a.batch > 1 ? `${a.batch}x` : ''}${a.m}x${a.k}x${a.n}`;
}

export function profileBackend(inner: Backend): ProfiledBackend {
  const table = new Map<string, ProfileRow>();
  const wrapped: Record<string, unknown> = { name: inner.name };
  for (const [name, value] of Object.entries(inner)) {
    if (typeof value !== 'function') continue;
    const fn = value as (...args: unknown[]) => unknown;
    wrapped[name] = (...args: unknown[]) => {
      const t0 = performance.now();
      const out = fn(...args);
      const key = name === 'matmul' ? matmulKey(args[0] as MatmulArgs) : name;
      const row = table.get(key) ?? { name: key, calls: 0, ms: 0 };
      row.calls++;
      row.ms += performance.now() - t0;
      table.set(key, row);
      return out;
    };
  }
  return {
    backend: wrapped as unknown as Backend,
    rows: () => [...table.values()].sort((x, y) => y.ms - x.ms),
    reset: () => table.clear(),
  };
}
