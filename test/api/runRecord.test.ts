// What config.json records of a run's data: every file of a comma list made absolute, so
// `cola eval --run` and `cola train --config` find them from any folder (issue 16's replay).
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { recordedConfig } from '../../src/api/runRecord.js';
import type { RunConfig } from '../../src/cola/runConfig.js';

test('recordedConfig makes each file of --data and --dev-data absolute, and the output folder', () => {
  const cfg = {
    outDir: 'runs/x',
    data: { data: 'a.jsonl, sub/b.txt', devData: 'c.jsonl,d.jsonl', dataDir: 'tasks' },
  } as unknown as RunConfig;
  const r = recordedConfig(cfg);
  assert.equal(r.data.data, [path.resolve('a.jsonl'), path.resolve('sub/b.txt')].join(','));
  assert.equal(r.data.devData, [path.resolve('c.jsonl'), path.resolve('d.jsonl')].join(','));
  assert.equal(r.data.dataDir, path.resolve('tasks'));
  assert.equal(r.outDir, path.resolve('runs/x'));
  assert.equal(recordedConfig({ outDir: 'o', data: {} } as unknown as RunConfig).data.data, undefined);
});
