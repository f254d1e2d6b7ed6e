// Reading the machine (issue 15): CPU flags, the cores a process may use, and the
// OpenMP environment set before the addon loads.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { widenedProductKernel, type CpuCaps } from '../../src/backend/computePath.js';
import { bf16ProductsOf, countCpuList, detectMachine, parseCpuFlags, parseCpuMax, usableCores } from '../../src/backend/machine.js';
import { loadNativeBackend } from '../../src/backend/native/index.js';
import { prepareProcessEnv, runtimeLine, threadsArg } from '../../src/backend/runtime.js';

describe('machine', () => {
  it('reads the bf16-relevant flags from /proc/cpuinfo text', () => {
    const caps = parseCpuFlags('processor\t: 0\nmodel name\t: X\nflags\t\t: fpu sse avx2 avx512f avx512_vnni avx512_bf16\n');
    assert.deepEqual(caps, { avx2: true, avx512f: true, avx512Vnni: true, avx512Bf16: true, amxBf16: false, known: true });
    assert.equal(parseCpuFlags('processor: 0\n'), null);
  });

  it('names how a bf16 product runs for each CPU class (AVX2-only: oneDNN has none, f32 on rounded operands)', () => {
    const caps = (over: Partial<CpuCaps>): CpuCaps => ({
      avx2: true,
      avx512f: false,
      avx512Vnni: false,
      avx512Bf16: false,
      amxBf16: false,
      known: true,
      ...over,
    });
    assert.equal(bf16ProductsOf(caps({}), false), 'f32-on-rounded');
    assert.equal(bf16ProductsOf(caps({ avx512f: true }), true), 'onednn-emulated');
    assert.equal(bf16ProductsOf(caps({ avx512f: true, avx512Bf16: true }), true), 'hardware');
    assert.equal(bf16ProductsOf(caps({ avx512f: true, amxBf16: true }), true), 'hardware');
  });

  it("the addon picks the widened-product kernel by computePath's rule on this CPU (cola's AVX2 kernel or oneDNN)", (t) => {
    if (!loadNativeBackend()) return t.skip('native addon not built (npm run build:native)');
    if (process.env['COLA_GEMM'] === 'onednn') return t.skip('COLA_GEMM=onednn forces oneDNN');
    const m = detectMachine();
    assert.equal(m.widenedProducts, widenedProductKernel(m.caps), `${m.cpuModel}`);
  });

  it('counts allowed CPUs and applies the cgroup quota', () => {
    assert.equal(countCpuList('0-3,8,10-11\n'), 7);
    assert.equal(countCpuList('5'), 1);
    assert.equal(parseCpuMax('max 100000\n'), null);
    assert.equal(parseCpuMax('150000 100000'), 1.5);
    assert.equal(usableCores(16, 1.5), 2);
    assert.equal(usableCores(2, 8), 2);
    assert.equal(usableCores(4, null), 4);
    assert.equal(usableCores(4, 0.2), 1);
  });

  it('sets OMP_NUM_THREADS from --threads and passive waiting unless the user chose', () => {
    assert.equal(threadsArg(['train', '--threads', '3']), '3');
    assert.equal(threadsArg(['train', '--threads=5']), '5');
    const env: Record<string, string | undefined> = {};
    assert.equal(prepareProcessEnv(['--threads', '3'], env), 3);
    assert.deepEqual(env, { OMP_NUM_THREADS: '3', OMP_WAIT_POLICY: 'passive' });
    const mine: Record<string, string | undefined> = { OMP_NUM_THREADS: '2', GOMP_SPINCOUNT: '10000' };
    assert.equal(prepareProcessEnv([], mine), 2);
    assert.equal(mine['OMP_WAIT_POLICY'], undefined, "the user's spin count is kept, no policy forced");
    assert.throws(() => prepareProcessEnv(['--threads', '0'], {}), /1 to 4096/);
  });

  it("the start line of a run names the threads and each path's arithmetic", () => {
    assert.match(runtimeLine('reference', 'f32'), /reference backend/);
    // the webgpu backend is WGSL on an adapter, not the plain-TypeScript reference (issue 20)
    assert.match(runtimeLine('webgpu', 'f32'), /^webgpu backend \(WGSL, f32\) on /);
    assert.doesNotMatch(runtimeLine('webgpu', 'f32'), /plain TypeScript/);
    if (!loadNativeBackend()) return;
    assert.match(runtimeLine('native', 'f32'), /\d+ threads .*f32 weights computed in f32 \(--compute \w+\)/);
    assert.match(runtimeLine('native', 'bf16'), /bf16 weights computed in (f32|bf16)/);
  });
});
