// Issue 18 end to end through the real CLI: a 2-link COLA run with each LoRA variant, then
// `cola eval --adapter run/adapter` on the ORIGINAL model gives the run's own final dev loss
// (the exported adapter is relative to the original weights, DoRA and PiSSA/OLoRA included).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { readJsonObject } from '../../src/io/fileIo.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { cola, tinyModelDir, writeCorpus } from './harness.js';

const dir = makeTmpDir('cli-lora-variants');
const model = tinyModelDir(dir);
const corpus = writeCorpus(path.join(dir, 'corpus.txt'));

const VARIANTS: [string, string[]][] = [
  ['dora', ['--use-dora']],
  ['pissa', ['--lora-init', 'pissa']],
  ['olora', ['--lora-init', 'olora']],
  ['loraplus', ['--loraplus-lr-ratio', '16']],
];

for (const [name, flags] of VARIANTS) {
  test(`cola train --method cola --chain-length 2 ${flags.join(' ')}: cola eval of adapter/ on the original model = the run's last dev loss`, () => {
    const out = path.join(dir, name);
    const common = ['--data', corpus, '--max-length', '16'];
    const train = cola([
      'train',
      '--model',
      model,
      ...common,
      '--dev-data',
      corpus,
      '--method',
      'cola',
      '--chain-length',
      '2',
      '--max-steps',
      '4',
      '--eval-every',
      '4',
      '--lr',
      '0.05',
      '--batch-size',
      '4',
      ...flags,
      '--out',
      out,
      '--quiet',
    ]);
    assert.equal(train.status, 0, train.stderr);
    const events = fs
      .readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number | string>);
    assert.equal(events.filter((e) => e['event'] === 'knot').length, 1);
    const last = events.filter((e) => e['event'] === 'eval').at(-1)!;
    assert.equal(last['step'], 4);
    const ev = cola(['eval', '--model', model, '--adapter', path.join(out, 'adapter'), ...common, '--json']);
    assert.equal(ev.status, 0, ev.stderr);
    const loss = (JSON.parse(ev.stdout.trim().split('\n').pop()!) as { loss: number }).loss;
    assert.ok(Math.abs(loss - (last['dev_loss'] as number)) < 1e-5, `eval ${loss} vs run ${last['dev_loss']}`);
    const cfg = readJsonObject(path.join(out, 'adapter', 'adapter_config.json'));
    assert.equal(cfg.use_dora, name === 'dora');
    assert.equal(cfg.init_lora_weights, true, 'relative to the original weights: no init on load');
  });
}

test('--use-dora with --method full is refused with a clear message', () => {
  const r = cola(['train', '--model', model, '--data', corpus, '--method', 'full', '--use-dora', '--out', path.join(dir, 'full')]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--use-dora does not apply to --method full/);
});
