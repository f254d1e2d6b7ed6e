// src/backend/compute.ts in the browser bundle: no machine to probe, no env. A
// product with a bf16 operand is computed in bf16 (the contract's default, and what
// the webgpu backend does when MatmulArgs.compute is absent).
export function computeFor(storage: 'f32' | 'bf16'): 'f32' | 'bf16' {
  return storage;
}
export function requestedCompute(): 'auto' {
  return 'auto';
}
export function setComputeRequest(): void {}
export function applyOmpDefaults(): number {
  return 1;
}
