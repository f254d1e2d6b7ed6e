// `cola doctor` (issue 15): runs through the real CLI and prints the documented keys.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cola } from './harness.js';

test('cola doctor --json prints the machine, the compute path per dtype and a probe', () => {
  const r = cola(['doctor', '--json', '--seconds', '0']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, Record<string, unknown>>;
  for (const key of ['cpu', 'cores', 'threads', 'omp_wait_policy', 'memory', 'backend', 'compute', 'probe'])
    assert.ok(key in out, `key ${key}`);
  for (const key of ['model', 'class', 'native_bf16', 'flags', 'flags_source', 'onednn_isa']) assert.ok(key in out['cpu']!, `cpu.${key}`);
  for (const key of ['avx2', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_bf16'])
    assert.equal(typeof (out['cpu']!['flags'] as Record<string, unknown>)[key], 'boolean');
  assert.ok((out['cores']!['usable'] as number) >= 1);
  assert.deepEqual(Object.keys(out['compute']!).sort(), ['bf16_weights', 'f32_weights', 'requested']);
  assert.equal(out['compute']!['f32_weights'], 'f32');
  const probe = out['probe'] as unknown as { storage: string; compute: string; gflops: number }[];
  assert.deepEqual(
    probe.map((p) => `${p.storage}/${p.compute}`),
    ['f32/f32', 'bf16/bf16', 'bf16/f32'],
  );
  for (const p of probe) assert.ok(p.gflops >= 0);
});

test('cola doctor obeys --threads and --compute, and passive waiting is the default', () => {
  const r = cola(['doctor', '--json', '--seconds', '0', '--threads', '1', '--compute', 'f32'], {
    OMP_WAIT_POLICY: '',
    OMP_NUM_THREADS: '',
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { threads: number; compute: { bf16_weights: string }; omp_wait_policy: string };
  assert.equal(out.threads, 1);
  assert.equal(out.compute.bf16_weights, 'f32');
  assert.equal(out.omp_wait_policy, 'passive');
  const bad = cola(['doctor', '--compute', 'f16']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /compute/);
});
