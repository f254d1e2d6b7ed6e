// LR schedules against Hugging Face transformers' formulas, written out here on
// their own (optimization.py, _get_*_schedule_with_warmup_lr_lambda): HF's scheduler
// value after k scheduler.step() calls is peak * lr_lambda(k), and the first
// optimizer step runs before any scheduler.step(), so update k+1 uses lr_lambda(k).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainLr, lrAt, type Schedule, type ScheduleKind } from '../../src/optim/schedule.js';

const hfLambda: Record<ScheduleKind, (k: number, warmup: number, total: number) => number> = {
  constant: (k, warmup) => (k < warmup ? k / Math.max(1, warmup) : 1),
  linear: (k, warmup, total) => (k < warmup ? k / Math.max(1, warmup) : Math.max(0, (total - k) / Math.max(1, total - warmup))),
  cosine: (k, warmup, total) => {
    if (k < warmup) return k / Math.max(1, warmup);
    const progress = (k - warmup) / Math.max(1, total - warmup);
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 2 * 0.5 * progress))); // num_cycles = 0.5
  },
};

const close = (got: number, want: number, what: string): void =>
  assert.ok(Math.abs(got - want) <= 1e-12 * Math.max(1, Math.abs(want)), `${what}: got ${got}, want ${want}`);

for (const kind of ['constant', 'linear', 'cosine'] as const)
  for (const warmup of [0, 1, 4]) {
    test(`lrAt ${kind}, warmup ${warmup}: equals HF's lambda number for number over a whole run`, () => {
      const s: Schedule = { kind, peak: 3e-4, warmup, total: 20 };
      for (let k = 0; k <= s.total; k++) close(lrAt(s, k), s.peak * hfLambda[kind](k, warmup, s.total), `step ${k}`);
    });
  }

test('warmup: the first update uses rate 0 and the rate reaches the peak exactly at step = warmup', () => {
  for (const kind of ['constant', 'linear', 'cosine'] as const) {
    const s: Schedule = { kind, peak: 2, warmup: 4, total: 10 };
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((k) => lrAt(s, k)),
      [0, 0.5, 1, 1.5, 2],
      kind,
    );
  }
});

test('decay by hand: linear falls by peak/(total-warmup) a step and ends at 0; cosine is at half the peak mid-decay', () => {
  const lin: Schedule = { kind: 'linear', peak: 1, warmup: 2, total: 6 };
  assert.deepEqual(
    [2, 3, 4, 5, 6, 7].map((k) => lrAt(lin, k)),
    [1, 0.75, 0.5, 0.25, 0, 0],
    'max(0, ...) keeps past-the-end steps at 0',
  );
  const cos: Schedule = { kind: 'cosine', peak: 1, warmup: 2, total: 6 };
  close(lrAt(cos, 4), 0.5, 'cosine mid-decay');
  close(lrAt(cos, 6), 0, 'cosine at total');
  assert.equal(lrAt(cos, 9), 0, 'cosine stays at 0 past total (progress capped)');
});

test('max(1, ...) guards: warmup >= total and total 0 give finite rates as in HF', () => {
  const s: Schedule = { kind: 'linear', peak: 1, warmup: 5, total: 5 };
  // HF: (total - k) / max(1, 0) with k >= warmup = total: 0, not a division by zero
  assert.deepEqual(
    [0, 4, 5, 6].map((k) => lrAt(s, k)),
    [0, 0.8, 0, 0],
  );
  for (const kind of ['constant', 'linear', 'cosine'] as const) {
    const z: Schedule = { kind, peak: 1, warmup: 0, total: 0 };
    close(lrAt(z, 0), hfLambda[kind](0, 0, 0), `${kind} with total 0`);
  }
});

// Chain modes: a run of 12 steps in three links of 4, with per-link peaks.
const base: Schedule = { kind: 'linear', peak: 1e-3, warmup: 2, total: 12 };
const links = [
  { start: 0, end: 4, lr: 1e-3 },
  { start: 4, end: 8, lr: 5e-4 },
  { start: 8, end: 12, lr: 2e-4 },
];
const linkOf = (k: number): (typeof links)[number] => links.find((l) => k >= l.start && k < l.end)!;
/** HF linear lambda of the whole run. */
const global = (k: number): number => hfLambda.linear(k, base.warmup, base.total);

test("chainLr continue: one global schedule, scaled by each link's peak", () => {
  for (let k = 0; k < 12; k++) {
    const l = linkOf(k);
    close(chainLr('continue', base, l, k, 3), l.lr * global(k), `step ${k}`);
  }
  // by hand: step 6 is in link 1 (peak 5e-4); linear lambda (12 - 6) / 10 = 0.6
  close(chainLr('continue', base, links[1]!, 6, 3), 3e-4, 'step 6');
});

test('chainLr restart: each link runs the whole schedule (warmup min(warmup, length)) over its own steps at its own peak', () => {
  for (const kind of ['constant', 'linear', 'cosine'] as const)
    for (let k = 0; k < 12; k++) {
      const l = linkOf(k);
      const n = l.end - l.start;
      const want = l.lr * hfLambda[kind](k - l.start, Math.min(base.warmup, n), n);
      close(chainLr('restart', { ...base, kind }, l, k, 3), want, `${kind} step ${k}`);
    }
  // by hand, linear link 2 (peak 2e-4, local steps 0..3, warmup 2, total 4): 0, 1e-4, 2e-4, 1e-4
  const got = [8, 9, 10, 11].map((k) => chainLr('restart', base, links[2]!, k, 3));
  [0, 1e-4, 2e-4, 1e-4].forEach((w, i) => close(got[i]!, w, `link 2 local step ${i}`));
  // a link shorter than the warmup warms up over its whole length
  const short = { start: 0, end: 2, lr: 1 };
  assert.deepEqual(
    [0, 1].map((k) => chainLr('restart', { ...base, kind: 'constant', warmup: 5 }, short, k, 0)),
    [0, 0.5],
  );
});

test("chainLr jagged: the first link follows continue; after a knot the rate climbs from 0 to the knot's continue rate over rewarmup steps (ReLoRA)", () => {
  const rewarmup = 3;
  for (let k = 0; k < 12; k++) {
    const l = linkOf(k);
    const since = k - l.start;
    const want = l.start > 0 && since < rewarmup ? l.lr * global(l.start) * (since / rewarmup) : l.lr * global(k);
    close(chainLr('jagged', base, l, k, rewarmup), want, `step ${k}`);
  }
  // by hand, link 1 (peak 5e-4, knot at 4, continue lambda there (12 - 4) / 10 = 0.8): 0, 4e-4/3, 8e-4/3, then 5e-4 * (12 - 7) / 10
  const got = [4, 5, 6, 7].map((k) => chainLr('jagged', base, links[1]!, k, rewarmup));
  [0, 4e-4 / 3, 8e-4 / 3, 2.5e-4].forEach((w, i) => close(got[i]!, w, `step ${4 + i}`));
  // the first link is not re-warmed
  close(chainLr('jagged', base, links[0]!, 2, rewarmup), 1e-3, 'link 0 after its warmup');
  // rewarmup 0 is continue
  for (let k = 0; k < 12; k++) close(chainLr('jagged', base, linkOf(k), k, 0), chainLr('continue', base, linkOf(k), k, 0), `step ${k}`);
});
