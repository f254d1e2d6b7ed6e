// A run's config.json replays (issue 16): runConfigFlags inverts resolveRunConfig, so the
// flags it gives rebuild the very RunConfig the run recorded, for every method and the
// settings that are easy to lose (data seed, knots, jagged schedules, regex targets).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeRunConfig, type RunConfig } from '../../src/cola/runConfig.js';
import { runConfigFlags } from '../../src/cola/runConfigFlags.js';
import type { DataFlags, RunFlags } from '../../src/cola/runFlags.js';
import { ColaError } from '../../src/errors.js';

const DATA_KEYS = new Set(['data', 'devData', 'task', 'dataDir', 'boolqFromVal', 'fewglue', 'dataSeed', 'numTrain', 'numDev', 'numTest']);
const DATA_KEYS2 = new Set(['maxLength', 'skipBad', 'chatTemplate']);

/** cfg -> flags -> cfg, with the flags split into the run and data tables. */
function roundTrip(cfg: RunConfig): RunConfig {
  const flags = runConfigFlags(JSON.parse(JSON.stringify(cfg)) as RunConfig, 'run/config.json') as Record<string, unknown>;
  assert.ok(!('out' in flags) && !('resume' in flags), 'a replay never takes the run folder');
  const data = Object.fromEntries(Object.entries(flags).filter(([k]) => DATA_KEYS.has(k) || DATA_KEYS2.has(k)));
  const run = Object.fromEntries(Object.entries(flags).filter(([k]) => !DATA_KEYS.has(k) && !DATA_KEYS2.has(k)));
  return makeRunConfig({ ...(run as Partial<RunFlags>), out: cfg.outDir, resume: cfg.resume }, data as Partial<DataFlags>);
}

const cases: [string, Partial<RunFlags> & { out: string }, Partial<DataFlags>][] = [
  ['lora defaults on a file', { out: 'o', method: 'lora' }, { data: 'a.jsonl', devData: 'b.jsonl' }],
  [
    'cola with knots, link ranks and lrs, a data seed of its own',
    { out: 'o', method: 'cola', knots: ['3', '1.5e'], linkRanks: ['8', '4'], linkLrs: ['0.001', '0.0005'], seed: 3, lr: 0.002 },
    { task: 'rte', dataDir: 'd', dataSeed: 7, numTrain: 100, numDev: 20, maxLength: 64 },
  ],
  [
    'cola, evenly spaced, jagged, every knob',
    {
      out: 'o',
      method: 'cola',
      chainLength: 4,
      chainSchedule: 'jagged',
      rewarmupSteps: 3,
      optimizerReset: 'none',
      evalAtKnots: true,
      selectBy: 'metric',
      rank: 4,
      alpha: 8,
      rslora: true,
      loraInit: 'gaussian',
      targets: ['all-linear'],
      epochs: 2.5,
      batchSize: 3,
      gradAccum: 2,
      schedule: 'cosine',
      warmupSteps: 2,
      weightDecay: 0.01,
      maxGradNorm: 0,
      evalEvery: 5,
      saveEvery: 7,
      saveLinkAdapters: true,
    },
    { task: 'boolq', dataDir: 'd', boolqFromVal: true },
  ],
  ['relora', { out: 'o', method: 'relora', knotEvery: 5, maxSteps: 20, targetRegex: '.*q_proj' }, { task: 'cb', fewglue: true }],
  ['lora on a GPTQ base', { out: 'o', method: 'lora', quantizeCalibration: 16 }, { data: 'a.txt' }],
  ['full', { out: 'o', method: 'full', gradientCheckpointing: true }, { data: 'chat.jsonl', chatTemplate: 'chatml', skipBad: true }],
];

for (const [name, run, data] of cases) {
  test(`runConfigFlags inverts resolveRunConfig: ${name}`, () => {
    const cfg = makeRunConfig(run, data);
    assert.deepEqual(JSON.parse(JSON.stringify(roundTrip(cfg))), JSON.parse(JSON.stringify(cfg)));
  });
}

test('a run made with a LoRA rank pattern (no flag sets one) is refused by name, not replayed without it', () => {
  const cfg = makeRunConfig({ out: 'o', method: 'lora' }, { data: 'a.jsonl' }, { lora: { rankPattern: { q_proj: 4 } } });
  assert.throws(
    () => runConfigFlags(cfg, 'run/config.json'),
    (e: unknown) => e instanceof ColaError && /run\/config\.json: .*rank or alpha pattern/.test(e.message),
  );
});

test('a damaged record names the key', () => {
  const cfg = JSON.parse(JSON.stringify(makeRunConfig({ out: 'o' }, { data: 'a.jsonl' }))) as Record<string, unknown>;
  delete cfg['budget'];
  assert.throws(
    () => runConfigFlags(cfg as unknown as RunConfig, 'r/config.json'),
    (e: unknown) => e instanceof ColaError && /"run\.budget" must be an object/.test(e.message),
  );
});
