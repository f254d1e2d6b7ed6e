// Early stopping (issue 18): the run stops after `patience` dev evaluations without a
// better --select-by value, for every method; a stopped chain exports the links that
// trained as one consistent adapter; a resume continues the count exactly, and resuming
// a run that stopped early trains nothing.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { runChain, type RunSummary } from '../../src/cola/run.js';
import { makeRunConfig, type RunConfig } from '../../src/cola/runConfig.js';
import { ColaError } from '../../src/errors.js';
import { loadPeftAdapter } from '../../src/lora/peft.js';
import type { CausalLM } from '../../src/models/causalLM.js';
import { writeRunReport } from '../../src/report/runReport.js';
import { MetricsLog } from '../../src/train/metricsLog.js';
import { lmObjective } from '../../src/train/objective.js';
import { config, examples, logitsOf, model } from './tinyRun.js';

const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `cola-early-${name}-`));
type Event = Record<string, unknown>;
const events = (dir: string): Event[] =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Event);

/** Scripted dev loss by step (16 examples, batch 4: 4 steps an epoch, 12 in all, knots
 * at 4 and 8 for the 3-link chain): best at step 4, then 5 and 6 do not beat it. With
 * patience 2 the run stops at step 6, inside link 1. */
const DEV_LOSS: Record<number, number> = { 1: 5, 2: 4, 3: 4.5, 4: 3, 5: 3.5, 6: 3, 7: 2, 8: 1 };

interface Run {
  summary: RunSummary;
  model: CausalLM;
}

function run(cfg: RunConfig, stopAt: number | null = null): Run {
  let step = 0;
  const m = model();
  const log = new MetricsLog(cfg.outDir, [(e) => (step = e.event === 'step' ? (e['step'] as number) : step)]);
  const summary = runChain(cfg, {
    model: m,
    objective: lmObjective(examples(16), 0),
    dev: () => ({ loss: DEV_LOSS[step] ?? 0.5 }),
    log,
    shouldStop: () => stopAt !== null && step >= stopAt,
    baseModel: 'tiny',
  });
  return { summary, model: m };
}

const early = (dir: string, over: Parameters<typeof config>[1] = {}): RunConfig =>
  config(dir, { evalEvery: 1, earlyStoppingPatience: 2, ...over });

const bytes = (f: string): Buffer => fs.readFileSync(f);
/** The events without their timings (ms, tokens/s), which differ from run to run. */
const untimed = (dir: string): Event[] => events(dir).map(({ ms: _ms, tokens_per_s: _t, elapsed_s: _e, ...e }) => e);

test('every method stops after `patience` evaluations without improvement (a tie is no improvement)', () => {
  for (const over of [{ method: 'lora' }, { method: 'cola' }, { method: 'relora', knotEvery: 4 }, { method: 'full' }] as const) {
    const dir = tmp(over.method);
    const { summary } = run(early(dir, over));
    assert.deepEqual(summary.earlyStop, { step: 6, bestStep: 4, patience: 2 }, over.method);
    assert.equal(summary.stopped, false, 'an early stop is a finished run, not an interruption');
    assert.equal(summary.steps, 6);
    const ev = events(dir);
    assert.equal(
      Math.max(...ev.filter((e) => e.event === 'step').map((e) => e.step as number)),
      6,
      `${over.method}: no step after the stop`,
    );
    assert.deepEqual(
      ev.filter((e) => e.event === 'eval').map((e) => e.evals_since_best),
      [0, 0, 1, 0, 1, 2],
    );
    assert.deepEqual(
      ev.find((e) => e.event === 'early_stop'),
      { event: 'early_stop', step: 6, link: over.method === 'lora' || over.method === 'full' ? 0 : 1, patience: 2, best_step: 4 },
    );
    assert.deepEqual(ev.at(-1)!.early_stop, { step: 6, best_step: 4, patience: 2 });
    if (over.method !== 'full') assert.ok(fs.existsSync(path.join(dir, 'best', 'adapter', 'adapter_model.safetensors')));
  }
});

test('a stopped COLA chain: later links never train; adapter/ and chain.json hold the links that did, and reload to the trained model', () => {
  const dir = tmp('chain');
  const { summary, model: trained } = run(early(dir));
  assert.deepEqual(
    summary.links.map((l) => [l.start, l.end]),
    [
      [0, 4],
      [4, 6],
    ],
  );
  const ev = events(dir);
  assert.equal(ev.filter((e) => e.event === 'knot').length, 1, 'one knot (at 4); the knot at 8 is never tied');
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'chain.json'), 'utf8'));
  assert.equal(manifest.total_steps, 6);
  assert.equal(manifest.links.length, 2);
  assert.deepEqual(manifest.early_stop, { step: 6, bestStep: 4, patience: 2 });
  const adapterCfg = JSON.parse(fs.readFileSync(path.join(dir, 'adapter', 'adapter_config.json'), 'utf8'));
  assert.equal(adapterCfg.r, 8, 'rank of the two links that trained (4 + 4), not of the planned three');
  const html = fs.readFileSync(writeRunReport(dir), 'utf8');
  assert.match(html, /stopped early at step 6: 2 evaluations without improvement \(best at step 4\)/);
  const fresh = model();
  loadPeftAdapter(fresh, path.join(dir, 'adapter'));
  const [want, got] = [logitsOf(trained), logitsOf(fresh)];
  want.forEach((x, i) => assert.ok(Math.abs(x - got[i]!) < 1e-4, `logit ${i}: ${x} vs ${got[i]}`));
});

test('resume continues the patience count exactly; resuming a run that stopped early is a no-op', () => {
  const whole = tmp('whole');
  run(early(whole));
  const cut = tmp('cut');
  run(early(cut, { saveEvery: 1 }), 5); // interrupted after step 5: one evaluation without improvement so far
  assert.equal(events(cut).filter((e) => e.event === 'early_stop').length, 0);
  const resumed = run(early(cut, { saveEvery: 1, resume: true }));
  assert.deepEqual(resumed.summary.earlyStop, { step: 6, bestStep: 4, patience: 2 });
  assert.deepEqual(untimed(cut), untimed(whole), 'the same events as the uninterrupted run');
  const adapter = (d: string): Buffer => bytes(path.join(d, 'adapter', 'adapter_model.safetensors'));
  assert.ok(adapter(cut).equals(adapter(whole)), 'the same adapter as the uninterrupted run');

  // runChain itself re-exports and rewrites the done record (its elapsed_s moves);
  // cola train / fineTune never get here: trainRun's resume check returns first
  // (test/cli/resume.test.ts: a finished run's files stay byte-identical).
  const before = untimed(whole);
  const again = run(early(whole, { resume: true }));
  assert.deepEqual(again.summary.earlyStop, { step: 6, bestStep: 4, patience: 2 });
  assert.equal(again.summary.steps, 6);
  assert.deepEqual(untimed(whole), before, 'no step, eval or event is added');
  assert.ok(adapter(whole).equals(adapter(cut)));
});

test('patience that cannot act is refused before anything is written', () => {
  const refuses = (fn: () => unknown, re: RegExp): void =>
    assert.throws(fn, (e: unknown) => e instanceof ColaError && re.test(e.message), String(re));
  refuses(() => config('x', { earlyStoppingPatience: 0 }), /--early-stopping-patience must be at least 1/);
  // no dev split: nothing to stop on (a --data file without --dev-data is known from the flags)
  refuses(() => makeRunConfig({ out: 'x', earlyStoppingPatience: 2 }, { data: 'train.jsonl' }), /needs dev evaluations: give --dev-data/);
  assert.equal(
    makeRunConfig({ out: 'x', earlyStoppingPatience: 2 }, { data: 'a.jsonl', devData: 'b.jsonl' }).eval.earlyStoppingPatience,
    2,
  );
  const dir = path.join(tmp('nodev'), 'run');
  refuses(
    () =>
      runChain(early(dir), {
        model: model(),
        objective: lmObjective(examples(16), 0),
        log: new MetricsLog(dir),
        shouldStop: () => false,
        baseModel: 'tiny',
      }),
    /needs dev evaluations.*--dev-data/,
  );
  assert.ok(!fs.existsSync(dir), 'nothing written');
  // 3 evaluations (one per epoch) cannot hold the best, 2 without improvement and one more
  refuses(
    () => run(config(path.join(tmp('few'), 'run'), { earlyStoppingPatience: 2 })),
    /can never stop this run: it evaluates dev 3 time\(s\).*--eval-every/,
  );
});
