// fineTune writes the same config.json as `cola train` (issue 16): the same keys, the same
// run config and model hash for the same settings, and `cola train --config` replays it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fineTune } from '../../src/api/fineTune.js';
import { loadPretrained } from '../../src/api/load.js';
import { syntheticText } from '../../src/api/syntheticText.js';
import { writeTinyModelFolder } from '../../src/api/tinyModel.js';
import { cola } from '../cli/harness.js';
import { makeTmpDir } from '../io/tmpdir.js';

const dir = makeTmpDir('api-record');
const modelDir = writeTinyModelFolder(path.join(dir, 'model'), { seed: 5, context: 32 });
const train = path.join(dir, 'train.txt');
fs.writeFileSync(train, syntheticText('verse', 12, 0));
const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;
const losses = (run: string) =>
  fs
    .readFileSync(path.join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .flatMap((e) => (e['event'] === 'step' ? [e['loss'] as number] : []));

test('fineTune and cola train write one config.json format; cola train --config replays a fineTune run', () => {
  const { model, tokenizer } = loadPretrained(modelDir, { backend: 'reference' });
  const apiRun = path.join(dir, 'api-run');
  fineTune({
    model,
    tokenizer,
    data: train,
    method: 'lora',
    maxSteps: 3,
    batchSize: 4,
    maxLength: 32,
    lr: 0.01,
    outDir: apiRun,
    baseModel: path.resolve(modelDir),
  });
  const cliRun = path.join(dir, 'cli-run');
  const r = cola([
    'train',
    '--model',
    modelDir,
    '--data',
    train,
    '--method',
    'lora',
    '--max-steps',
    '3',
    '--batch-size',
    '4',
    '--max-length',
    '32',
    '--lr',
    '0.01',
    '--out',
    cliRun,
    '--quiet',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const [api, cli] = [readJson(path.join(apiRun, 'config.json')), readJson(path.join(cliRun, 'config.json'))];
  assert.deepEqual(Object.keys(api).sort(), [
    'backend',
    'counts',
    'doubleQuant',
    'dtype',
    'model',
    'modelHash',
    'quantize',
    'quantizedLayers',
    'run',
    'truncated',
  ]);
  const sameRun = (c: Record<string, unknown>) => ({ ...c, run: { ...(c['run'] as object), outDir: '-' } });
  assert.deepEqual(sameRun(api), sameRun(cli));
  const replay = path.join(dir, 'replay');
  const r2 = cola(['train', '--config', path.join(apiRun, 'config.json'), '--out', replay, '--quiet']);
  assert.equal(r2.status, 0, r2.stderr);
  assert.deepEqual(losses(replay), losses(apiRun));
});
