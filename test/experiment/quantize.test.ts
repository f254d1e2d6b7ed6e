// `cola experiment --quantize F` (issue 17): every cell trains on a base quantized to F and
// records it in its run folder's config.json; full fine-tuning, which trains the weights a
// quantized base keeps frozen as codes, is refused before anything runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTmpDir } from '../io/tmpdir.js';
import { cola, tinyModelDir } from '../cli/harness.js';
import { tinyCorpus } from '../helpers/tinyFolder.js';

const dir = makeTmpDir('experiment-quantize');
const model = tinyModelDir(dir);
const corpus = tinyCorpus(dir, 60);
const args = (out: string, methods: string) => [
  'experiment',
  ...['--model', model, '--data', corpus, '--quantize', 'q4_0', '--methods', methods, '--lrs', '1e-2', '--seeds', '1'],
  ...['--epochs', '1', '--batch-size', '4', '--max-length', '24', '--save-every', '0', '--quiet', '--out', out],
];

test('every cell of cola experiment --quantize trains on the quantized base and records it', () => {
  const out = path.join(dir, 'exp');
  const r = cola(args(out, 'lora,cola-l2'));
  assert.equal(r.status, 0, r.stderr);
  // runs/<task>/<method>/lr-<lr>/seed-<seed>/config.json
  const runs = (fs.readdirSync(path.join(out, 'runs'), { recursive: true }) as string[]).filter((f) => path.basename(f) === 'config.json');
  assert.equal(runs.length, 2);
  for (const cell of runs) {
    const c = JSON.parse(fs.readFileSync(path.join(out, 'runs', cell), 'utf8')) as Record<string, unknown>;
    assert.equal(c['quantize'], 'q4_0', cell);
    assert.deepEqual(c['quantizedLayers'], { q4_0: 14 }, cell);
  }
  // a rerun without --quantize is another experiment: the cells were made with other settings
  const other = cola(args(out, 'lora,cola-l2').filter((a, i, all) => a !== '--quantize' && all[i - 1] !== '--quantize'));
  assert.equal(other.status, 1);
  assert.match(other.stderr, /made with other settings[\s\S]*quantize/);
});

test('cola experiment --quantize refuses --methods full before running anything', () => {
  const out = path.join(dir, 'exp-full');
  const r = cola(args(out, 'full,lora'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--methods full trains every weight, which a --quantize q4_0 base keeps frozen as codes/);
  assert.equal(fs.existsSync(path.join(out, 'runs')), false);
});

test('cola experiment --quantize nf4 --double-quant records doubleQuant per cell; --double-quant without nf4 is refused', () => {
  const out = path.join(dir, 'exp-dq');
  const dq = (a: string[]) => a.map((v, i) => (a[i - 1] === '--quantize' ? 'nf4' : v)).concat('--double-quant');
  const r = cola(dq(args(out, 'lora')));
  assert.equal(r.status, 0, r.stderr);
  const runs = (fs.readdirSync(path.join(out, 'runs'), { recursive: true }) as string[]).filter((f) => path.basename(f) === 'config.json');
  assert.equal(runs.length, 1);
  const c = JSON.parse(fs.readFileSync(path.join(out, 'runs', runs[0]!), 'utf8')) as Record<string, unknown>;
  assert.equal(c['quantize'], 'nf4');
  assert.equal(c['doubleQuant'], true);
  // the same grid without --double-quant is another experiment
  const other = cola(dq(args(out, 'lora')).slice(0, -1));
  assert.equal(other.status, 1);
  assert.match(other.stderr, /made with other settings[\s\S]*doubleQuant/);
  const bad = cola([...args(path.join(dir, 'exp-dq-bad'), 'lora'), '--double-quant']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--double-quant quantizes nf4's block scales: it needs --quantize nf4, not q4_0/);
});

test('cola experiment --quantize-calibration: every cell and the base row on the GPTQ base, recorded; refused without --quantize', () => {
  const out = path.join(dir, 'exp-gptq');
  const r = cola([...args(out, 'lora'), '--quantize-calibration', '4']);
  assert.equal(r.status, 0, r.stderr);
  const runs = (fs.readdirSync(path.join(out, 'runs'), { recursive: true }) as string[]).filter((f) => path.basename(f) === 'config.json');
  assert.equal(runs.length, 1);
  const c = JSON.parse(fs.readFileSync(path.join(out, 'runs', runs[0]!), 'utf8')) as Record<string, { quantizeCalibration?: number }>;
  assert.equal(c['quantize'] as unknown, 'q4_0');
  assert.equal(c['run']!.quantizeCalibration, 4);
  // the untrained base row is the calibrated base: it differs from round-to-nearest's
  const base = (o: string) => JSON.parse(fs.readFileSync(path.join(o, 'experiment.json'), 'utf8')).base as unknown;
  assert.notDeepEqual(base(out), base(path.join(dir, 'exp')));
  const noQuantize = args(path.join(dir, 'exp-gptq-bad'), 'lora').filter((a, i, all) => a !== '--quantize' && all[i - 1] !== '--quantize');
  const bad = cola([...noQuantize, '--quantize-calibration', '4']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--quantize-calibration 4 chooses the codes of a quantized base: give --quantize with it/);
});
