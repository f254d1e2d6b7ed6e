// --quantize in the run record (issue 17): config.json says how the base was quantized
// (`quantize`: the flag; `quantizedLayers`: what the base held), `cola train --config`
// replays it, `cola eval --run` loads the base the same way, a --resume without it is refused,
// and a run on a Q8_0 GGUF records the file's own quantized layers without a flag.
// --double-quant likewise: recorded (`doubleQuant`), replayed, compared by --resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { getBackend } from '../../src/backend/index.js';
import { tokenizerMetadataFor } from '../../src/io/gguf/ggufTokenizer.js';
import { loadModel } from '../../src/models/load.js';
import { saveModelGguf } from '../../src/models/saveGguf.js';
import { tinyCorpus, tinyModelFolder } from '../helpers/tinyFolder.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { runEvents as events, runRecord as record, stepLosses as losses } from '../helpers/runFolder.js';
import { cola, tinyColaFlags, tinyModelDir } from './harness.js';

const dir = makeTmpDir('cli-quantize-record');
const p = (...parts: string[]) => path.join(dir, ...parts);
const model = tinyModelDir(dir);
const corpus = tinyCorpus(dir, 40);
const common = tinyColaFlags(corpus);

const run = p('run');
const trained = cola(['train', '--model', model, '--quantize', 'q8_0', ...common, '--out', run, '--quiet']);

test('config.json records --quantize and the quantized layers; --config replays them to the same losses', () => {
  assert.equal(trained.status, 0, trained.stderr);
  const r = record(run);
  assert.equal(r['quantize'], 'q8_0');
  assert.deepEqual(r['quantizedLayers'], { q8_0: 2 * 7 });
  const replay = p('replay');
  const again = cola(['train', '--config', path.join(run, 'config.json'), '--out', replay, '--quiet']);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(losses(replay), losses(run));
  assert.equal(record(replay)['quantize'], 'q8_0');
});

test('--resume with another --quantize (or none) is refused as a breaking change; the same one is a no-op', () => {
  for (const flags of [[], ['--quantize', 'q4_0']]) {
    const r = cola(['train', '--model', model, ...flags, ...common, '--out', run, '--resume', '--quiet']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /--resume with other settings than the run's:[\s\S]*quantize/);
  }
  const same = cola(['train', '--model', model, '--quantize', 'q8_0', ...common, '--out', run, '--resume']);
  assert.equal(same.status, 0, same.stderr);
  assert.match(same.stderr, /already finished/);
});

test("cola eval --run loads the base quantized as the run did: the run's last dev loss", () => {
  const lastDev = events(run)
    .filter((e) => e['event'] === 'eval')
    .at(-1)!['dev_loss'] as number;
  const e = cola(['eval', '--run', run, '--split', 'dev', '--json']);
  assert.equal(e.status, 0, e.stderr);
  const loss = (JSON.parse(e.stdout) as { loss: number }).loss;
  assert.ok(Math.abs(loss - lastDev) <= 1e-5 * Math.abs(lastDev), `eval --run ${loss}, the run's last dev loss ${lastDev}`);
  // the recorded identity covers the codes: another quantization is refused, with the way to try it
  const other = cola(['eval', '--run', run, '--split', 'dev', '--quantize', 'q4_0']);
  assert.equal(other.status, 1, other.stderr);
  assert.match(other.stderr, /trained on its base loaded with --quantize q8_0, not --quantize q4_0.*--adapter /);
});

test('a run on a Q8_0 GGUF records its kept layers with no --quantize, and replays from the record', () => {
  const folder = tinyModelFolder(11, { dim: 32, hiddenDim: 64 });
  const file = p('tiny-q8_0.gguf');
  saveModelGguf(loadModel(folder, { backend: getBackend('reference') }), { file, type: 'q8_0', tokenizer: tokenizerMetadataFor(folder) });
  const ggufRun = p('gguf-run');
  const t = cola(['train', '--model', file, ...common, '--out', ggufRun, '--quiet']);
  assert.equal(t.status, 0, t.stderr);
  const r = record(ggufRun);
  assert.equal(r['quantize'], null);
  assert.deepEqual(r['quantizedLayers'], { q8_0: 14 });
  const replay = cola(['train', '--config', path.join(ggufRun, 'config.json'), '--out', p('gguf-replay'), '--quiet']);
  assert.equal(replay.status, 0, replay.stderr);
  assert.deepEqual(losses(p('gguf-replay')), losses(ggufRun));
  const refused = cola(['train', '--model', file, '--quantize', 'nf4', ...common, '--out', p('gguf-nf4'), '--quiet']);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /--quantize nf4: .*already stores 14 linear weights quantized \(q8_0\)/);
});

test('--double-quant is recorded, replayed by --config and cola eval --run, and compared by --resume', () => {
  const dq = p('dq-run');
  const t = cola(['train', '--model', model, '--quantize', 'nf4', '--double-quant', ...common, '--out', dq, '--quiet']);
  assert.equal(t.status, 0, t.stderr);
  assert.equal(record(dq)['doubleQuant'], true);
  assert.equal(record(run)['doubleQuant'], false);
  const replay = p('dq-replay');
  const again = cola(['train', '--config', path.join(dq, 'config.json'), '--out', replay, '--quiet']);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(record(replay)['doubleQuant'], true);
  assert.deepEqual(losses(replay), losses(dq));
  // without --double-quant the same run is another run: its losses differ, and a resume is refused
  const single = p('dq-single');
  assert.equal(cola(['train', '--model', model, '--quantize', 'nf4', ...common, '--out', single, '--quiet']).status, 0);
  assert.notDeepEqual(losses(single), losses(dq));
  const r = cola(['train', '--model', model, '--quantize', 'nf4', ...common, '--out', dq, '--resume', '--quiet']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /--resume with other settings than the run's:[\s\S]*doubleQuant/);
  // cola eval --run double-quantizes as the run did: the run's last dev loss
  const lastDev = events(dq)
    .filter((e) => e['event'] === 'eval')
    .at(-1)!['dev_loss'] as number;
  const e = cola(['eval', '--run', dq, '--split', 'dev', '--json']);
  assert.equal(e.status, 0, e.stderr);
  const loss = (JSON.parse(e.stdout) as { loss: number }).loss;
  assert.ok(Math.abs(loss - lastDev) <= 1e-5 * Math.abs(lastDev), `eval --run ${loss}, the run's last dev loss ${lastDev}`);
});
