// A Backend that times every primitive call (wall clock, synchronous calls), so a
// training step's time splits into primitives plus the JavaScript around them, and
// takes the process's CPU time around each: where the cores sit idle (issue 15).
// Matmuls are keyed by shape and by what was computed: they are most of the work.

import type { Backend, MatmulArgs } from '../backend/backend.js';
import { computeFor } from '../backend/compute.js';
import type { Bf16Products } from '../backend/machine.js';

export interface ProfileRow {
  name: string;
  calls: number;
  ms: number;
  /** the process's CPU time (all threads, user + system) during the calls: cpuMs / ms is
   * how many cores the primitive kept busy (a 2-core machine: 2 at best) */
  cpuMs: number;
}

interface ProfiledBackend {
  backend: Backend;
  /** Rows since the last reset, slowest first. */
  rows(): ProfileRow[];
  reset(): void;
}

export interface ProfileOptions {
  /** How the profiled backend runs a product in bf16 (machine.ts Bf16Products): the
   * reference multiplies bf16-rounded operands in f32, the native backend as the
   * machine allows; null when not known (then such a row says only "bf16"). */
  bf16Products: Bf16Products | null;
}

/** What a matmul computed, not only what it was given (a bf16 weight on a CPU without
 * bf16 hardware is multiplied in f32):
 *  - `f32`: f32 operands;
 *  - `bf16 widened->f32`: a bf16 operand widened to f32 (exact), an f32 product
 *    (--compute f32, the default where the CPU has no bf16 hardware);
 *  - `bf16`: a bf16 product on bf16 hardware (AVX512_BF16, AMX);
 *  - `bf16 emulated`: oneDNN's bf16 product without bf16 hardware (~3x slower);
 *  - `bf16-rounded->f32`: the operands rounded to bf16, an f32 product (the reference
 *    backend, and the native one where oneDNN has no bf16 product: native/matmul.cc). */
export function matmulPath(a: Pick<MatmulArgs, 'aDtype' | 'bDtype' | 'compute'>, bf16Products: Bf16Products | null): string {
  if (a.aDtype !== 'bf16' && a.bDtype !== 'bf16') return 'f32';
  if ((a.compute ?? computeFor('bf16')) === 'f32') return 'bf16 widened->f32';
  if (bf16Products === 'onednn-emulated') return 'bf16 emulated';
  if (bf16Products === 'f32-on-rounded') return 'bf16-rounded->f32';
  return 'bf16';
}

function matmulKey(a: MatmulArgs, opts: ProfileOptions): string {
  const t = `${a.transA ? 'T' : 'N'}${a.transB ? 'T' : 'N'}`;
  return `matmul ${matmulPath(a, opts.bf16Products)} ${t} ${a.batch > 1 ? `${a.batch}x` : ''}${a.m}x${a.k}x${a.n}`;
}

export function profileBackend(inner: Backend, opts: ProfileOptions): ProfiledBackend {
  const table = new Map<string, ProfileRow>();
  const wrapped: Record<string, unknown> = { name: inner.name };
  for (const [name, value] of Object.entries(inner)) {
    if (typeof value !== 'function') continue;
    const fn = value as (...args: unknown[]) => unknown;
    wrapped[name] = (...args: unknown[]) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const out = fn(...args);
      const t1 = performance.now();
      const c = process.cpuUsage(c0);
      const key = name === 'matmul' ? matmulKey(args[0] as MatmulArgs, opts) : name;
      const row = table.get(key) ?? { name: key, calls: 0, ms: 0, cpuMs: 0 };
      row.calls++;
      row.ms += t1 - t0;
      row.cpuMs += (c.user + c.system) / 1e3;
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
