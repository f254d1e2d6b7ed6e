// The chain runner's other methods and its failure path: full fine-tuning, the
// ReLoRA preset (knots every N steps, pruned moments carried, jagged LR), and a
// run whose loss turns NaN (it stops with a clear error, the last good checkpoint
// stays and resumes).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { runChain } from '../../src/cola/run.js';
import { loraLayers } from '../../src/lora/inject.js';
import { loadModel } from '../../src/models/load.js';
import { scale } from '../../src/tensor/ops/elementwise.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { NonFiniteError } from '../../src/train/loop.js';
import { MetricsLog } from '../../src/train/metricsLog.js';
import { lmObjective, type Objective } from '../../src/train/objective.js';
import { stepLosses } from '../helpers/trainRuns.js';
import { be, config, examples, logitsOf, model } from './tinyRun.js';

const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `cola-${name}-`));
type Event = Record<string, number | string>;
const events = (dir: string): Event[] =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Event);

test('full fine-tuning: every weight trains, no adapters, loss falls, model/ reloads to the trained outputs', () => {
  const dir = tmp('full');
  const m = model();
  const before = new Map([...m.namedParameters()].map(([n, t]) => [n, t.f32.slice()]));
  const summary = runChain(config(dir, { method: 'full', lr: 5e-3, epochs: 4 }), {
    model: m,
    objective: lmObjective(examples(16), 0),
    log: new MetricsLog(dir),
    shouldStop: () => false,
    baseModel: 'tiny',
  });
  assert.equal(summary.links.length, 1, 'full fine-tuning is one link');
  assert.equal(loraLayers(m).length, 0, 'no LoRA layers are injected');
  for (const [n, t] of m.namedParameters()) assert.notDeepEqual(t.f32, before.get(n), `${n} did not train`);
  const losses = stepLosses(dir);
  assert.ok(losses.at(-1)! < losses[0]!, `loss ${losses[0]} -> ${losses.at(-1)}`);
  assert.ok(!fs.existsSync(path.join(dir, 'adapter')), 'no adapter is written');
  const reloaded = loadModel(path.join(dir, 'model'), { backend: be });
  const [got, want] = [logitsOf(reloaded), logitsOf(m)];
  want.forEach((x, i) => assert.ok(Math.abs(x - got[i]!) < 1e-5, `logit ${i}: ${x} vs ${got[i]}`));
});

test('relora preset: a knot every N steps, pruned moments carried over, LR re-warmed after each knot', () => {
  const dir = tmp('relora');
  const cfg = config(dir, {
    method: 'relora',
    knotEvery: 3,
    optimizerReset: 'magnitude:0.9',
    chainSchedule: 'jagged',
    rewarmupSteps: 2,
    schedule: 'constant',
    epochs: 3,
  });
  const summary = runChain(cfg, {
    model: model(),
    objective: lmObjective(examples(16), 0),
    log: new MetricsLog(dir),
    shouldStop: () => false,
    baseModel: 'tiny',
  });
  const total = summary.steps; // 16 examples / batch 4 * 3 epochs = 12
  assert.equal(total, 12);
  const knots = events(dir).filter((e) => e.event === 'knot');
  assert.deepEqual(
    knots.map((k) => k.step),
    [3, 6, 9],
    'a knot every 3 steps',
  );
  for (const k of knots) assert.ok(Math.abs((k.loss_before as number) - (k.loss_after as number)) < 1e-4, 'a merge keeps the outputs');
  const lr = new Map(
    events(dir)
      .filter((e) => e.event === 'step')
      .map((e) => [e.step as number, e.lr as number]),
  );
  // jagged: after each knot the LR restarts low and climbs back over rewarmupSteps
  for (const k of [3, 6, 9]) {
    assert.ok(lr.get(k + 1)! < lr.get(k)!, `LR drops after the knot at step ${k}`);
    assert.ok(lr.get(k + 1)! < lr.get(k + 2)! && lr.get(k + 2)! < lr.get(k + 3)!, `LR re-warms after the knot at step ${k}`);
  }
  // moments survive the knot (pruned, not reset): the optimizer step counter keeps counting
  const ckpt = loadCheckpoint(dir)!;
  assert.equal(ckpt.state['optimT'], 12, 'ReLoRA carries the optimizer across knots');
  // stopped right at the first knot, the checkpoint holds the moments handed to link 1: 90% of each tensor pruned
  const atKnot = tmp('relora-knot');
  let steps = 0;
  runChain(
    { ...cfg, outDir: atKnot },
    {
      model: model(),
      objective: lmObjective(examples(16), 0),
      log: new MetricsLog(atKnot, [(e) => (steps = e.event === 'step' ? (e['step'] as number) : steps)]),
      shouldStop: () => steps >= 3,
      baseModel: 'tiny',
    },
  );
  const knotCkpt = loadCheckpoint(atKnot)!;
  assert.deepEqual([knotCkpt.state['step'], knotCkpt.state['optimT']], [3, 3]);
  const moments = [...knotCkpt.arrays].filter(([k]) => k.startsWith('optim.'));
  assert.ok(moments.length > 0);
  for (const [k, x] of moments) assert.ok(x.filter((v) => v === 0).length >= Math.floor(0.9 * x.length), `${k}: at least 90% pruned`);
  assert.ok(
    moments.some(([, x]) => x.some((v) => v !== 0)),
    'the largest 10% are carried, not reset',
  );
  const cola = tmp('cola-reset');
  runChain(config(cola, { epochs: 3, chainLength: 4 }), {
    model: model(),
    objective: lmObjective(examples(16), 0),
    log: new MetricsLog(cola),
    shouldStop: () => false,
    baseModel: 'tiny',
  });
  assert.equal(loadCheckpoint(cola)!.state['optimT'], 3, 'COLA (full reset) starts a fresh optimizer at each knot');
});

/** The tiny LM objective, with the loss of every call from `from` on multiplied by NaN. */
function poisonedAfter(from: number): Objective {
  const inner = lmObjective(examples(16), 0);
  let calls = 0;
  return {
    ...inner,
    loss: (m, idx) => {
      const r = inner.loss(m, idx);
      return ++calls > from ? { ...r, loss: scale(r.loss, NaN) } : r;
    },
  };
}

test('a NaN loss stops the run with a clear error; the last good checkpoint stays and resumes', () => {
  const dir = tmp('nan');
  const cfg = config(dir, { saveEvery: 2, method: 'lora' });
  const run = (objective: Objective, resume: boolean): unknown =>
    runChain({ ...cfg, resume }, { model: model(), objective, log: new MetricsLog(dir), shouldStop: () => false, baseModel: 'tiny' });
  assert.throws(
    () => run(poisonedAfter(5), false),
    (e: unknown) => e instanceof NonFiniteError && /loss became NaN at step 6/.test(e.message),
  );
  assert.equal(loadCheckpoint(dir)!.state['step'], 4, 'the checkpoint of step 4 (the last save before the NaN) stays');
  assert.ok(!fs.existsSync(path.join(dir, 'adapter')), 'no final adapter is exported from a failed run');
  // resuming with good data continues from step 4 to the same curve as a clean run
  run(lmObjective(examples(16), 0), true);
  const clean = tmp('nan-clean');
  runChain(
    { ...cfg, outDir: clean },
    { model: model(), objective: lmObjective(examples(16), 0), log: new MetricsLog(clean), shouldStop: () => false, baseModel: 'tiny' },
  );
  assert.deepEqual(stepLosses(dir), stepLosses(clean));
});
