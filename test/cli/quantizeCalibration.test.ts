// --quantize-calibration N (issue 17: GPTQ codes for the --quantize base, calibrated on the
// run's first N training examples) end to end: recorded in config.json (run.quantizeCalibration),
// replayed by `cola train --config` to the same base and losses, rebuilt by `cola eval --run`
// (the run's last dev loss), compared by --resume; the round-to-nearest base is another base;
// refused without --quantize, with --method full, and beyond the training data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tinyCorpus } from '../helpers/tinyFolder.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { runEvents as events, runRecord as record, stepLosses as losses } from '../helpers/runFolder.js';
import { assertRefused, cola, tinyColaFlags, tinyModelDir } from './harness.js';

const dir = makeTmpDir('cli-quantize-calibration');
const p = (...parts: string[]) => path.join(dir, ...parts);
const model = tinyModelDir(dir);
const corpus = tinyCorpus(dir, 40);
const common = tinyColaFlags(corpus);

const gptq = p('gptq');
const trained = cola(['train', '--model', model, '--quantize', 'nf4', '--quantize-calibration', '4', ...common, '--out', gptq, '--quiet']);

test('config.json records the calibration; --config replays the same base and losses; the RTN base is another base', () => {
  assert.equal(trained.status, 0, trained.stderr);
  const r = record(gptq);
  assert.equal(r['quantize'], 'nf4');
  assert.equal((r['run'] as Record<string, unknown>)['quantizeCalibration'], 4);
  const replay = p('replay');
  const again = cola(['train', '--config', path.join(gptq, 'config.json'), '--out', replay, '--quiet']);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(record(replay)['modelHash'], r['modelHash'], 'same flags, same codes');
  assert.deepEqual(losses(replay), losses(gptq));
  const rtn = p('rtn');
  assert.equal(cola(['train', '--model', model, '--quantize', 'nf4', ...common, '--out', rtn, '--quiet']).status, 0);
  assert.notEqual(record(rtn)['modelHash'], r['modelHash'], 'GPTQ chose other codes than round-to-nearest');
  const resume = cola(['train', '--model', model, '--quantize', 'nf4', ...common, '--out', gptq, '--resume', '--quiet']);
  assert.equal(resume.status, 1, resume.stderr);
  assert.match(resume.stderr, /--resume with other settings than the run's:[\s\S]*quantizeCalibration/);
});

test("cola eval --run rebuilds the calibrated base: the run's last dev loss; a round-to-nearest base is refused", () => {
  const lastDev = events(gptq)
    .filter((e) => e['event'] === 'eval')
    .at(-1)!['dev_loss'] as number;
  const e = cola(['eval', '--run', gptq, '--split', 'dev', '--json']);
  assert.equal(e.status, 0, e.stderr);
  const loss = (JSON.parse(e.stdout) as { loss: number }).loss;
  assert.ok(Math.abs(loss - lastDev) <= 1e-5 * Math.abs(lastDev), `eval --run ${loss}, the run's last dev loss ${lastDev}`);
  const other = cola(['eval', '--run', gptq, '--split', 'dev', '--quantize', 'nf4']);
  assert.equal(other.status, 1, other.stderr);
  assert.match(other.stderr, /trained on its base loaded with --quantize nf4 --quantize-calibration 4, not --quantize nf4: /);
});

test('--quantize-calibration is refused without --quantize, with --method full and beyond the training data', () => {
  const cases: [string[], RegExp][] = [
    [['--quantize-calibration', '4', ...common], /--quantize-calibration 4 chooses the codes of a quantized base: give --quantize /],
    [
      ['--quantize', 'nf4', '--quantize-calibration', '4', '--data', corpus, '--max-length', '24', '--max-steps', '4', '--method', 'full'],
      /--quantize-calibration chooses the codes of a --quantize base, which --method full never has/,
    ],
    [
      ['--quantize', 'q4_0', '--quantize-calibration', '100000', ...common],
      /--quantize-calibration 100000: the run has only \d+ training examples/,
    ],
    [
      ['--quantize', 'q4_0', '--quantize-calibration', '0', ...common],
      /--quantize-calibration must be a positive number of training examples, got 0/,
    ],
  ];
  for (const [flags, message] of cases) {
    assertRefused(cola(['train', '--model', model, ...flags, '--out', p('refused'), '--quiet']), message);
  }
  assert.ok(!fs.existsSync(p('refused', 'config.json')));
});
