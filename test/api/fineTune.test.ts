// fineTune() is `cola train` as a function: same defaults, same code path, same bytes out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fineTune, runConfig } from '../../src/api/fineTune.js';
import { evaluateText } from '../../src/api/evaluateText.js';
import { generateText } from '../../src/api/generateText.js';
import { loadPretrained } from '../../src/api/load.js';
import { syntheticText } from '../../src/api/syntheticText.js';
import { writeTinyModelFolder } from '../../src/api/tinyModel.js';
import { ColaError } from '../../src/errors.js';
import { cola } from '../cli/harness.js';
import { makeTmpDir } from '../io/tmpdir.js';

const dir = makeTmpDir('api');
const modelDir = writeTinyModelFolder(path.join(dir, 'model'), { seed: 5, context: 32 });
const train = path.join(dir, 'train.txt');
fs.writeFileSync(train, syntheticText('verse', 12, 0));
const load = () => loadPretrained(modelDir, { backend: 'reference' });

test('fineTune and cola train with the same settings write the same adapter, byte for byte', () => {
  const settings = [
    '--method',
    'cola',
    '--chain-length',
    '2',
    '--max-steps',
    '4',
    '--batch-size',
    '4',
    '--max-length',
    '32',
    '--lr',
    '0.01',
    '--seed',
    '3',
  ];
  const cliRun = path.join(dir, 'cli-run');
  const r = cola(['train', '--model', modelDir, '--data', train, ...settings, '--out', cliRun, '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const { model, tokenizer } = load();
  const events: string[] = [];
  const res = fineTune({
    model,
    tokenizer,
    data: train,
    method: 'cola',
    chainLength: 2,
    maxSteps: 4,
    batchSize: 4,
    maxLength: 32,
    lr: 0.01,
    seed: 3,
    outDir: path.join(dir, 'api-run'),
    baseModel: path.resolve(modelDir),
    onEvent: (e) => events.push(e.event),
  });
  assert.equal(res.steps, 4);
  assert.deepEqual(
    res.links.map((l) => [l.start, l.end]),
    [
      [0, 2],
      [2, 4],
    ],
  );
  assert.deepEqual([...new Set(events)], ['step', 'knot', 'done']);
  assert.equal(res.adapterDir, path.join(res.outDir, 'adapter'));
  const bytes = (adapter: string, f: string) => fs.readFileSync(path.join(adapter, f));
  const cliAdapter = path.join(cliRun, 'adapter');
  assert.deepEqual(bytes(res.adapterDir!, 'adapter_model.safetensors'), bytes(cliAdapter, 'adapter_model.safetensors'));
  assert.deepEqual(
    JSON.parse(bytes(res.adapterDir!, 'adapter_config.json').toString()),
    JSON.parse(bytes(cliAdapter, 'adapter_config.json').toString()),
  );
  assert.ok(fs.existsSync(path.join(res.outDir, 'report.html')));
});

test("runConfig takes cola train's defaults, method-dependent ones included", () => {
  const { model, tokenizer } = load();
  const base = { model, tokenizer, outDir: path.join(dir, 'x') };
  const cfg = runConfig(base);
  assert.equal(cfg.method, 'cola');
  assert.equal(cfg.optim.lr, 5e-4);
  assert.equal(cfg.chain.length, 3);
  assert.equal(cfg.chain.schedule, 'continue');
  assert.equal(cfg.chain.optimizerReset, 'full');
  assert.deepEqual([cfg.lora.r, cfg.lora.alpha, cfg.lora.targets], [8, 16, ['q_proj', 'v_proj']]);
  const relora = runConfig({ ...base, method: 'relora', lr: 1e-3, lora: { r: 4 } });
  assert.deepEqual(
    [relora.chain.schedule, relora.chain.optimizerReset, relora.optim.lr, relora.lora.r, relora.lora.alpha],
    ['jagged', 'magnitude:0.99', 1e-3, 4, 16],
  );
});

test('fineTune refuses unknown options and bad LoRA settings with a ColaError', () => {
  const { model, tokenizer } = load();
  const base = { model, tokenizer, outDir: path.join(dir, 'y') };
  assert.throws(
    () => runConfig({ ...base, chain_length: 2 } as never),
    (e: Error) => e instanceof ColaError && /unknown option\(s\) chain_length/.test(e.message),
  );
  assert.throws(() => runConfig({ ...base, lora: { r: 0 } }), ColaError);
  assert.throws(() => fineTune({ ...base }), /give training data/);
});

test('evaluateText and generateText give what cola eval and cola generate print', () => {
  const { model, tokenizer } = load();
  const dev = path.join(dir, 'dev.txt');
  fs.writeFileSync(dev, syntheticText('verse', 6, 1));
  const cli = JSON.parse(cola(['eval', '--model', modelDir, '--data', dev, '--max-length', '32', '--json']).stdout);
  const api = evaluateText(model, tokenizer, fs.readFileSync(dev, 'utf8'), { maxLength: 32 });
  assert.deepEqual([api.loss, api.tokens], [cli.loss, cli.tokens]);
  const said = cola(['generate', '--model', modelDir, '--prompt', 'O lord', '--max-new-tokens', '8']).stdout;
  assert.equal(generateText(model, tokenizer, 'O lord', { maxNewTokens: 8 }) + '\n', said);
});
