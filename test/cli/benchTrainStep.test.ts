// `cola bench train-step` end to end on a tiny custom shape (the reference backend,
// well under a second): the JSON fields the peer comparison reads, the profile
// table, and flag errors. No timing is asserted: benchmarks never go in tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cola } from './harness.js';

const tiny = [
  '--d',
  '16',
  '--layers',
  '1',
  '--heads',
  '2',
  '--ffn',
  '32',
  '--vocab',
  '50',
  '--seq',
  '8',
  '--batch',
  '2',
  '--steps',
  '2',
  '--warmup',
  '1',
];

test("bench train-step --json prints one object with the peer's fields", () => {
  const r = cola(['bench', 'train-step', ...tiny, '--dtype', 'f32', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  assert.ok((out['tokens_per_s'] as number) > 0);
  assert.ok((out['peak_rss_mib'] as number) > 0);
  assert.equal(out['preset'], null); // shape flags make a custom shape
  assert.equal(out['backend'], 'reference');
  assert.deepEqual(out['targets'], ['q_proj', 'v_proj']);
  assert.equal((out['step_s_all'] as number[]).length, 2);
  // LoRA r=8 on q and v of one layer: 2 x (8 x 16 + 16 x 8)
  assert.equal(out['params_lora'], 512);
  assert.ok(Math.abs((out['loss_first'] as number) - Math.log(50)) < 0.5, 'random init gives ~ln(vocab)');
});

test('bench train-step --profile prints a per-primitive table (bf16, all targets)', () => {
  const r = cola(['bench', 'train-step', ...tiny, '--dtype', 'bf16', '--targets', 'all', '--profile']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /tokens\/s/);
  // Which rows show depends on timing (rows under 0.5 ms are hidden): check the table's frame only.
  assert.match(r.stdout, /\| primitive \| calls \| ms \| % of step \|/);
  assert.match(r.stdout, /\| \(outside primitives: JavaScript, GC\) \|/);
  assert.match(r.stdout, /on q_proj,k_proj,v_proj,out_proj,fc1,fc2/);
});

test('bench train-step rejects an impossible shape and names the flags', () => {
  const r = cola(['bench', 'train-step', ...tiny, '--d', '10', '--heads', '3']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--d \(10\) must be a multiple of --heads \(3\)/);
  const u = cola(['bench', 'nothing']);
  assert.notEqual(u.status, 0);
  assert.match(u.stderr, /available: matmul, train-step/);
});

test('bench train-step --checkpoint: reported as on, with the same first and last losses as without', () => {
  const run = (extra: string[]) => {
    const r = cola(['bench', 'train-step', ...tiny, '--dtype', 'f32', '--json', ...extra]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  };
  const plain = run([]);
  const ckpt = run(['--checkpoint']);
  assert.equal(ckpt['checkpoint'], true);
  // The forward pass and the LoRA updates (hence the later losses) are the same.
  assert.equal(ckpt['loss_first'], plain['loss_first']);
  assert.equal(ckpt['loss_last'], plain['loss_last']);
});
