// --double-quant (issue 17: QLoRA's double quantization of NF4's block scales) end to
// end: `cola eval` on an nf4 base gives nearly the single-quantized loss (the scales
// move by at most half an 8-bit step of their group), `cola bench train-step` reports
// it, and the flag is refused where it would do nothing (no nf4 layer).

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { cola, tinyModelDir, writeCorpus } from './harness.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-dq-'));

test('cola eval --quantize nf4 --double-quant: close to single quantization; refused without nf4', () => {
  const model = tinyModelDir(tmp, 63);
  const data = writeCorpus(path.join(tmp, 'eval.txt'));
  const evalLoss = (extra: string[]): number => {
    const r = cola(['eval', '--model', model, '--data', data, '--max-length', '32', '--json', ...extra]);
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { loss: number }).loss;
  };
  const single = evalLoss(['--quantize', 'nf4']);
  const double = evalLoss(['--quantize', 'nf4', '--double-quant']);
  assert.ok(Number.isFinite(double));
  assert.ok(Math.abs(double - single) <= 0.02 * Math.abs(single), `nf4 ${single}, with double quantization ${double}`);
  for (const extra of [['--quantize', 'int8'], []]) {
    const r = cola(['eval', '--model', model, '--data', data, '--double-quant', ...extra]);
    assert.notEqual(r.status, 0);
    // refused before anything loads, naming the fix
    assert.match(r.stderr, /--double-quant quantizes nf4's block scales: it needs --quantize nf4(, not int8)? \(or drop --double-quant\)/);
    assert.doesNotMatch(r.stderr, /\n\s+at /); // a clear error, not a stack trace
  }
});

test('cola bench train-step --quantize nf4 --double-quant reports double_quant', () => {
  const tiny = ['--d', '64', '--layers', '1', '--heads', '2', '--ffn', '128', '--vocab', '50', '--seq', '8', '--batch', '1'];
  const r = cola(['bench', 'train-step', ...tiny, '--steps', '1', '--warmup', '0', '--quantize', 'nf4', '--double-quant', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  assert.equal(out['quantize'], 'nf4');
  assert.equal(out['double_quant'], true);
  assert.ok(Number.isFinite(out['loss_first']));
  const bad = cola(['bench', 'train-step', ...tiny, '--steps', '1', '--warmup', '0', '--quantize', 'q4_0', '--double-quant']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /no nf4 layer \(it is q4_0\)/);
});
