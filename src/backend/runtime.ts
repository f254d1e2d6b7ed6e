// Process-wide compute settings (issue 15): how many threads the kernels use, how
// idle OpenMP threads wait, and how products with bf16-stored weights are computed.
//
// Threads and the wait policy are read by libgomp once, when the addon loads, so
// they are environment variables set before that (prepareProcessEnv, called by
// bin/cola.js for --threads; applyOmpDefaults, called again by the backend loader
// just before the addon loads, so library users get the same defaults).
// - Threads default to the cores this process may use (affinity and cgroup quota:
//   backend/machine.ts), not libgomp's default of every CPU in the affinity mask.
// - Wait policy: passive. libgomp's default spins ~300k iterations before sleeping;
//   with another process on the same cores, spinning threads steal the cores the
//   working ones need: small ops ran ~7x slower under load (issue 15). Passive
//   costs a futex wake per parallel region, paid only above kParallelMin-sized ops
//   (native/common.h). OMP_WAIT_POLICY or GOMP_SPINCOUNT set by the user win;
//   bench/threadsUnderLoad.sh compares both under load.

import { ColaError } from '../errors.js';
import {
  computePath,
  hasNativeBf16,
  parseComputeRequest,
  type ComputeDtype,
  type ComputeRequest,
  type StorageDtype,
} from './computePath.js';
import { detectCores, detectMachine, machineCaps, machineLine } from './machine.js';
import { setNativeThreads } from './native/index.js';
import { prepareWebGpuEnv, webgpuNodeAdapter } from './webgpuNode/index.js';
import { applyOmpDefaults, computeFor, requestedCompute, setComputeRequest } from './compute.js';

export { applyOmpDefaults, computeFor, requestedCompute };

type Env = Record<string, string | undefined>;

/** The value of `--threads N` / `--threads=N` in argv, if given. */
export function threadsArg(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--threads') return argv[i + 1];
    if (argv[i]!.startsWith('--threads=')) return argv[i]!.slice('--threads='.length);
  }
  return undefined;
}

/** A thread count, checked (positive integer). */
export function parseThreads(value: unknown, source = '--threads'): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 4096) {
    throw new ColaError(`${source} ${String(value)}: expected a whole number of threads from 1 to 4096`);
  }
  return n;
}

/** Sets the OpenMP environment before the addon loads: OMP_NUM_THREADS from
 * `--threads`, else kept when set, else the usable cores; OMP_WAIT_POLICY=passive
 * unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set. Returns the thread count. With
 * the webgpu backend asked for, the Vulkan driver too (webgpuNode prepareWebGpuEnv). */
export function prepareProcessEnv(argv: readonly string[], env: Env = process.env): number {
  prepareWebGpuEnv(argv, env);
  const fromArg = threadsArg(argv);
  if (fromArg !== undefined) env['OMP_NUM_THREADS'] = String(parseThreads(fromArg));
  return applyOmpDefaults(env);
}

export interface RuntimeSettings {
  /** --compute: how products with bf16-stored weights run */
  compute?: ComputeRequest;
  /** --threads: kernel threads of the calling thread */
  threads?: number;
}

let threadCount: number | undefined;

/** Applies --compute and --threads for this process (the thread count on the
 * calling thread: the one that will run the kernels). */
export function configureRuntime(s: RuntimeSettings): void {
  if (s.compute !== undefined) setComputeRequest(parseComputeRequest(s.compute));
  if (s.threads !== undefined) {
    threadCount = parseThreads(s.threads);
    setNativeThreads(threadCount);
  }
}

/** Throws (with the fix) when the requested compute does not fit weights stored as `storage`. */
export function checkCompute(storage: StorageDtype): void {
  computePath(machineCaps(), storage, requestedCompute());
}

/** The arithmetic of a product whose operands are stored as given: f32 unless one
 * is bf16, then per the compute path of bf16 storage. */
export function productCompute(aDtype: string, bDtype: string): ComputeDtype {
  return aDtype === 'bf16' || bDtype === 'bf16' ? computeFor('bf16') : 'f32';
}

/** Threads the kernels run on: --threads, else OMP_NUM_THREADS, else the usable cores. */
export function kernelThreads(): number {
  if (threadCount !== undefined) return threadCount;
  const env = process.env['OMP_NUM_THREADS'];
  return env ? parseThreads(env.split(',')[0], 'OMP_NUM_THREADS') : detectCores().usable;
}

/** One line for the start of a run: the machine, threads and the compute path of
 * this model's weights, e.g. "...: oneDNN avx512_core, no bf16 hardware; 2 threads
 * (2 cores allowed); bf16 weights computed in f32 (--compute auto)". */
export function runtimeLine(backendName: string, storage: StorageDtype): string {
  if (backendName === 'webgpu') return `webgpu backend (WGSL, f32) on ${webgpuNodeAdapter() ?? 'its WebGPU adapter'}`;
  if (backendName !== 'native') return `${backendName} backend (plain TypeScript: slow; build the native one with npm run build:native)`;
  const path = computeFor(storage);
  const m = detectMachine();
  // Asked for bf16 where it is emulated: say what it costs (docs/performance.md, "Machines differ").
  const slow = path === 'bf16' && !hasNativeBf16(m.caps) ? ' (emulated here, ~3x slower than --compute f32)' : '';
  return `${machineLine(m, kernelThreads())}; ${storage} weights computed in ${path} (--compute ${requestedCompute()})${slow}`;
}
