// The compute path of products and the OpenMP defaults, the part of runtime.ts the
// backends themselves need (native/index.ts, reference/matmul.ts): kept apart so the
// backends do not import runtime.ts, which imports the native backend (no file loop).
import { computePath, parseComputeRequest, type ComputeDtype, type ComputeRequest, type StorageDtype } from './computePath.js';
import { detectCores, machineCaps } from './machine.js';

type Env = Record<string, string | undefined>;

let computeRequest: ComputeRequest | undefined;

/** --compute for this process (runtime.ts configureRuntime). */
export function setComputeRequest(r: ComputeRequest): void {
  computeRequest = r;
}

/** The OpenMP defaults, where the user set nothing: OMP_NUM_THREADS = the usable
 * cores, OMP_WAIT_POLICY = passive (unless GOMP_SPINCOUNT is set). Called by
 * bin/cola.js and again by the backend loader just before the addon (and with it
 * libgomp) loads, so library users get them too. Returns the thread count. */
export function applyOmpDefaults(env: Env = process.env): number {
  // A value the user set is kept as it is (libgomp judges it; "4,2" nests).
  if (!env['OMP_NUM_THREADS']) env['OMP_NUM_THREADS'] = String(detectCores().usable);
  if (!env['OMP_WAIT_POLICY'] && !env['GOMP_SPINCOUNT']) env['OMP_WAIT_POLICY'] = 'passive';
  return Number.parseInt(env['OMP_NUM_THREADS']!, 10) || detectCores().usable;
}

/** The requested compute ('auto' unless configured; env COLA_COMPUTE for library users). */
export function requestedCompute(): ComputeRequest {
  return (computeRequest ??= parseComputeRequest(process.env['COLA_COMPUTE'], 'COLA_COMPUTE'));
}

/** The arithmetic of products with weights stored as `storage`, on this machine. */
export function computeFor(storage: StorageDtype): ComputeDtype {
  return computePath(machineCaps(), storage, storage === 'f32' ? 'auto' : requestedCompute());
}
