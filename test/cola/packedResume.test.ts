// --pack with every method (issue 18): a packed run stopped part-way and resumed gives
// the loss curve of the uninterrupted packed run (the packs and their order are a pure
// function of the data and the seed).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { runChain } from '../../src/cola/run.js';
import { MetricsLog } from '../../src/train/metricsLog.js';
import { packedLmObjective } from '../../src/train/objective.js';
import { stepLosses } from '../helpers/trainRuns.js';
import { config, examples, model } from './tinyRun.js';

/** 16 examples of 2..7 tokens: about three to a packed sequence of 16. */
const data = () => examples(16).map((e, i) => ({ ...e, ids: e.ids.slice(0, 2 + (i % 6)), lossMask: e.lossMask.slice(0, 2 + (i % 6)) }));

for (const method of ['lora', 'cola', 'relora', 'full'] as const) {
  test(`--pack, ${method}: stopped and resumed, the packed run's losses equal the uninterrupted run's`, () => {
    const objective = packedLmObjective(data(), 0, 16);
    assert.ok(objective.size < 16 / 2, `${objective.size} packs`);
    const over = method === 'relora' ? { method, knotEvery: 2 } : method === 'cola' ? { method } : { method, chainLength: undefined };
    const dirs = ['clean', 'stopped'].map((n) => fs.mkdtempSync(path.join(os.tmpdir(), `cola-pack-${method}-${n}-`)));
    const cfg = (dir: string, resume = false) => ({ ...config(dir, { ...over, epochs: 4, batchSize: 2, saveEvery: 1 }), resume });
    const run = (dir: string, resume: boolean, stopAfter: number) => {
      let calls = 0;
      runChain(cfg(dir, resume), {
        model: model(),
        objective,
        log: new MetricsLog(dir),
        shouldStop: () => ++calls > stopAfter,
        baseModel: 'tiny',
      });
    };
    run(dirs[0]!, false, Infinity);
    run(dirs[1]!, false, 5);
    assert.ok(stepLosses(dirs[1]!).length < stepLosses(dirs[0]!).length, 'the run stopped early');
    run(dirs[1]!, true, Infinity);
    assert.deepEqual(stepLosses(dirs[1]!), stepLosses(dirs[0]!));
  });
}
