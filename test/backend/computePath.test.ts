// The compute path per CPU class (issue 15): a table of cases, one per class.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computePath, cpuClass, parseComputeRequest, widenedProductKernel, type CpuCaps } from '../../src/backend/computePath.js';

const none: CpuCaps = { avx2: false, avx512f: false, avx512Vnni: false, avx512Bf16: false, amxBf16: false, known: true };
const CPUS: Record<string, CpuCaps> = {
  amx: { ...none, avx2: true, avx512f: true, avx512Vnni: true, avx512Bf16: true, amxBf16: true },
  avx512_bf16: { ...none, avx2: true, avx512f: true, avx512Vnni: true, avx512Bf16: true },
  avx512: { ...none, avx2: true, avx512f: true, avx512Vnni: true },
  avx2: { ...none, avx2: true },
  unknown: { ...none, known: false },
};

describe('computePath', () => {
  it('auto: bf16 storage is computed in bf16 only where the CPU has native bf16', () => {
    const want: Record<string, 'f32' | 'bf16'> = { amx: 'bf16', avx512_bf16: 'bf16', avx512: 'f32', avx2: 'f32', unknown: 'f32' };
    for (const [name, caps] of Object.entries(CPUS)) {
      assert.equal(cpuClass(caps), name);
      assert.equal(computePath(caps, 'bf16', 'auto'), want[name], name);
    }
  });

  it("a bf16 weight's f32 products run on cola's AVX2 kernel only on AVX2 CPUs without AVX-512", () => {
    const want: Record<string, string> = { amx: 'onednn', avx512_bf16: 'onednn', avx512: 'onednn', avx2: 'cola-avx2', unknown: 'onednn' };
    for (const [name, caps] of Object.entries(CPUS)) assert.equal(widenedProductKernel(caps), want[name], name);
    assert.equal(widenedProductKernel(none), 'onednn', 'no AVX2');
  });

  it('f32 storage is computed in f32 on every CPU', () => {
    for (const [name, caps] of Object.entries(CPUS)) {
      assert.equal(computePath(caps, 'f32', 'auto'), 'f32', name);
      assert.equal(computePath(caps, 'f32', 'f32'), 'f32', name);
    }
  });

  it('an explicit request is obeyed for bf16 storage, on every CPU', () => {
    for (const [name, caps] of Object.entries(CPUS)) {
      assert.equal(computePath(caps, 'bf16', 'f32'), 'f32', name);
      assert.equal(computePath(caps, 'bf16', 'bf16'), 'bf16', name);
    }
  });

  it('bf16 compute of f32 weights is refused with the fix', () => {
    assert.throws(() => computePath(CPUS['amx']!, 'f32', 'bf16'), /--dtype bf16/);
  });

  it('parses --compute', () => {
    assert.equal(parseComputeRequest(undefined), 'auto');
    assert.equal(parseComputeRequest('f32'), 'f32');
    assert.throws(() => parseComputeRequest('f16'), /auto, f32, bf16/);
  });
});
