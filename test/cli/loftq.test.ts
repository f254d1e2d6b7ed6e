// --lora-init loftq / loftq_iter_N (issue 17: LoftQ codes and first adapter for a --quantize
// base) end to end: the run's last dev loss equals `cola eval --run` and `cola eval --model
// --quantize --adapter` of its exported adapter (the codes rebuilt from the dense base);
// the exported adapter_config.json says "loftq" + loftq_config; `--config` replays the same
// losses; a changed init is refused on --resume; LoftQ without --quantize, with
// --quantize-calibration, or evaluated on another format is a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tinyCorpus } from '../helpers/tinyFolder.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { runEvents as events, runRecord as record, stepLosses as losses } from '../helpers/runFolder.js';
import { assertRefused, cola, tinyColaFlags, tinyModelDir } from './harness.js';

const dir = makeTmpDir('cli-loftq');
const p = (...parts: string[]) => path.join(dir, ...parts);
const model = tinyModelDir(dir);
const corpus = tinyCorpus(dir, 40);
const common = tinyColaFlags(corpus); // a 2-link COLA chain
const run = p('loftq');
const trained = cola(['train', '--model', model, '--quantize', 'q4_0', '--lora-init', 'loftq_iter_2', ...common, '--out', run, '--quiet']);

const lastDev = (r: string): number =>
  events(r)
    .filter((e) => e['event'] === 'eval')
    .at(-1)!['dev_loss'] as number;

const evalLoss = (args: string[]): number => {
  const e = cola(['eval', ...args, '--json']);
  assert.equal(e.status, 0, e.stderr);
  return (JSON.parse(e.stdout) as { loss: number }).loss;
};

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-5 * Math.abs(b), `${what}: ${a} vs ${b}`);

test('the exported adapter is "loftq" with loftq_config and the first link\'s ranks; eval --run and eval --adapter give the run\'s last dev loss', () => {
  assert.equal(trained.status, 0, trained.stderr);
  const cfg = JSON.parse(fs.readFileSync(path.join(run, 'adapter', 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(cfg['init_lora_weights'], 'loftq');
  assert.deepEqual(cfg['loftq_config'], { loftq_bits: 4, loftq_iter: 2 });
  const chain = JSON.parse(fs.readFileSync(path.join(run, 'adapter', 'cola_chain.json'), 'utf8')) as Record<string, unknown>;
  assert.ok(Object.values(chain['loftq_ranks'] as Record<string, number>).every((r) => r === 8));
  const dev = lastDev(run);
  close(evalLoss(['--run', run, '--split', 'dev']), dev, 'eval --run');
  close(
    evalLoss(['--model', model, '--quantize', 'q4_0', '--adapter', path.join(run, 'adapter'), '--data', corpus, '--max-length', '24']),
    evalLoss(['--run', run, '--split', 'dev']),
    'eval --adapter',
  );
});

test('the exported adapter on round-to-nearest codes is another model (the LoftQ codes matter)', () => {
  const adapter = p('as-rtn');
  fs.cpSync(path.join(run, 'adapter'), adapter, { recursive: true });
  const file = path.join(adapter, 'adapter_config.json');
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(file, JSON.stringify({ ...cfg, init_lora_weights: true, loftq_config: undefined }));
  const args = (a: string) => ['--model', model, '--quantize', 'q4_0', '--adapter', a, '--data', corpus, '--max-length', '24'];
  assert.notEqual(evalLoss(args(adapter)), evalLoss(args(path.join(run, 'adapter'))));
});

test('--config replays the same losses; --resume with another init is refused', () => {
  const r = record(run);
  assert.equal(r['quantize'], 'q4_0');
  assert.equal(((r['run'] as Record<string, unknown>)['lora'] as Record<string, unknown>)['init'], 'loftq_iter_2');
  const replay = p('replay');
  const again = cola(['train', '--config', path.join(run, 'config.json'), '--out', replay, '--quiet']);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(losses(replay), losses(run));
  const resume = cola([
    'train',
    '--model',
    model,
    '--quantize',
    'q4_0',
    '--lora-init',
    'loftq',
    ...common,
    '--out',
    run,
    '--resume',
    '--quiet',
  ]);
  assert.equal(resume.status, 1, resume.stderr);
  assert.match(resume.stderr, /--resume with other settings than the run's:[\s\S]*init/);
});

test('LoftQ is refused without --quantize, with --quantize-calibration, and on another --quantize format at eval', () => {
  const cases: [string[], RegExp][] = [
    [
      ['--lora-init', 'loftq', ...common],
      /--lora-init loftq \(LoftQ\) chooses a quantized base's codes together with the first adapter: load the model with --quantize/,
    ],
    [
      ['--quantize', 'nf4', '--quantize-calibration', '4', '--lora-init', 'loftq', ...common],
      /--quantize-calibration \(GPTQ codes\) and --lora-init loftq \(LoftQ codes\) both choose the quantized base's codes/,
    ],
  ];
  for (const [flags, message] of cases) {
    assertRefused(cola(['train', '--model', model, ...flags, '--out', p('refused'), '--quiet']), message);
  }
  assert.ok(!fs.existsSync(p('refused', 'config.json')));
  const other = cola(['eval', '--model', model, '--quantize', 'int8', '--adapter', path.join(run, 'adapter'), '--data', corpus]);
  assert.equal(other.status, 1, other.stderr);
  assert.match(other.stderr, /trained on 4-bit LoftQ codes \(loftq_config.loftq_bits\) but the base is int8/);
  const dense = cola(['eval', '--model', model, '--adapter', path.join(run, 'adapter'), '--data', corpus]);
  assert.equal(dense.status, 1, dense.stderr);
  assert.match(dense.stderr, /LoftQ\) chooses a quantized base's codes from the dense weights: load the model with --quantize/);
});
