// `cola train --dry-run` and `cola info` (issue 16, part 8): the dry run prints the
// effective config, the plan the real run follows (the same knots and steps) and a
// peak-memory estimate, and writes nothing; `cola info` shows the same estimate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTmpDir } from '../io/tmpdir.js';
import { cola, tinyModelDir, writeCorpus } from './harness.js';

const dir = makeTmpDir('cli-dryrun');
const p = (...parts: string[]) => path.join(dir, ...parts);
const model = tinyModelDir(dir);
const corpus = writeCorpus(p('corpus.txt'), 20);
const args = (out: string, ...extra: string[]) => [
  'train',
  ...['--model', model, '--data', corpus, '--max-length', '16', '--batch-size', '3', '--method', 'cola', '--chain-length', '3'],
  ...['--epochs', '2', '--out', out, ...extra],
];

test('--dry-run prints the config, the plan the run then follows and a memory estimate; it writes nothing', () => {
  const out = p('dry');
  const r = cola(args(out, '--dry-run'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^config: \{"method":"cola"/m);
  assert.match(r.stdout, /^plan: \d+ optimizer steps \(\d+ per epoch\)/m);
  assert.match(r.stdout, /^ {2}link 3: steps \d+-\d+/m);
  assert.match(r.stdout, /^peak memory estimate: .* = weights .* \+ activations .* \+ LM head chunk/m);
  assert.ok(!fs.existsSync(out), 'no run folder');
  const dry = JSON.parse(cola(args(out, '--dry-run', '--json')).stdout) as {
    plan: { totalSteps: number; links: { start: number; end: number }[] };
    memory: { total: number; weights: number; activations: number };
  };
  // the real run: its knots where the dry run said, its last step the planned total
  const real = cola(args(p('real'), '--json'));
  assert.equal(real.status, 0, real.stderr);
  const events = real.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const knots = events.filter((e) => e['event'] === 'knot').map((e) => e['step']);
  assert.deepEqual(
    knots,
    dry.plan.links.slice(1).map((l) => l.start),
  );
  assert.equal(events.at(-1)!['step'], dry.plan.totalSteps);
  assert.ok(dry.memory.total > dry.memory.weights && dry.memory.activations > 0);
  // --dry-run with --resume is refused, not half-done
  const resume = cola(args(p('real'), '--dry-run', '--resume'));
  assert.equal(resume.status, 1);
  assert.match(resume.stderr, /--dry-run plans a new run and does not check a resume/);
});

test('--dry-run with --quantize counts the codes, LoftQ and GPTQ count their dense load, and what the run refuses is refused', () => {
  type Memory = { total: number; weights: number; activations: number; logits: number; load: number };
  const memoryOf = (...extra: string[]): Memory => {
    const r = cola(args(p('q'), '--dry-run', '--json', ...extra));
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { memory: Memory }).memory;
  };
  // f32 storage: at this model's 16-wide rows a block format's padded block and scale take
  // more than the 32 bytes of a bf16 row (the estimate counts that too)
  const dense = memoryOf('--dtype', 'f32');
  const nf4 = memoryOf('--dtype', 'f32', '--quantize', 'nf4');
  assert.ok(nf4.weights < dense.weights, `nf4 weights ${nf4.weights} < f32 ${dense.weights}`);
  assert.equal(nf4.activations, dense.activations);
  assert.equal(nf4.load, 0, 'quantized as it loads: no dense peak');
  assert.ok(memoryOf('--dtype', 'f32', '--quantize', 'nf4', '--double-quant').weights < nf4.weights);
  // LoftQ keeps every block weight's f32 copy until its init takes it
  const loftq = memoryOf('--dtype', 'f32', '--quantize', 'nf4', '--lora-init', 'loftq');
  assert.ok(loftq.load > nf4.weights && loftq.total >= loftq.load);
  const gptq = memoryOf('--dtype', 'f32', '--quantize', 'q4_0', '--quantize-calibration', '4');
  assert.ok(gptq.load > dense.weights, 'the dense model and the codes');
  const text = cola(args(p('q'), '--dry-run', '--dtype', 'f32', '--quantize', 'nf4')).stdout;
  assert.match(text, /weights [^(]*\(block linears nf4, the rest f32\)/);
  for (const [extra, message] of [
    [['--double-quant'], /--double-quant quantizes nf4's block scales: it needs --quantize nf4/],
    [['--quantize-calibration', '4'], /--quantize-calibration 4 chooses the codes of a quantized base: give --quantize/],
  ] as const) {
    const r = cola(args(p('q'), '--dry-run', ...extra));
    assert.equal(r.status, 1, `${extra.join(' ')}: ${r.stdout}`);
    assert.match(r.stderr, message);
  }
  assert.ok(!fs.existsSync(p('q')), 'no run folder');
});

test('cola info shows the training memory estimate, smaller with gradient checkpointing', () => {
  const r = cola(['info', '--model', model, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout) as Record<string, { total: number; weights: number; activations: number }> & { memory_bytes: number };
  assert.equal(info['training_memory']!.weights, info.memory_bytes);
  assert.ok(info['training_memory']!.total > info.memory_bytes);
  assert.ok(info['training_memory_checkpointing']!.activations < info['training_memory']!.activations);
  assert.match(cola(['info', '--model', model]).stdout, /peak memory estimate: .*\n {2}with --gradient-checkpointing: /);
  // --quantize and --double-quant (info takes them with the model options) reach the estimate
  const q = JSON.parse(cola(['info', '--model', model, '--json', '--dtype', 'f32', '--quantize', 'int8']).stdout) as typeof info;
  assert.ok(q['training_memory']!.weights < info['training_memory']!.weights, 'int8 codes hold less than f32 weights');
  assert.match(cola(['info', '--model', model, '--dtype', 'f32', '--quantize', 'int8']).stdout, /\(block linears int8, the rest f32\)/);
  const dq = cola(['info', '--model', model, '--double-quant']);
  assert.equal(dq.status, 1);
  assert.match(dq.stderr, /--double-quant quantizes nf4's block scales: it needs --quantize nf4/);
});
