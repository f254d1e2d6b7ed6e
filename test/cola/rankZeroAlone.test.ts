// Data parallel (issue 19): what rank 0 does alone (dev evaluations, checkpoints) is
// followed by a barrier named after it, so the other ranks wait for it there and a
// watchdog timeout names the work (not the next step's "batch totals"). Two ranks are
// run one after the other on recording communicators: they must enter the same
// collectives in the same order (else a real job deadlocks), and only rank 0 evaluates
// and writes.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Communicator } from '../../src/backend/mpi.js';
import { runChain } from '../../src/cola/run.js';
import { parallelOf, rankZeroAlone } from '../../src/train/distributed.js';
import { MetricsLog } from '../../src/train/metricsLog.js';
import { lmObjective } from '../../src/train/objective.js';
import { config, examples, model } from './tinyRun.js';

/** A communicator of one rank of `size` that records every collective; a sum over the
 * ranks is this rank's values times `size` (as if every rank held the same), and every
 * rank's slot of a checksum holds this rank's. */
function recording(rank: number, size: number, calls: string[]): Communicator {
  const times = (a: Float32Array | Float64Array): void => a.forEach((x, i) => (a[i] = x * size));
  return {
    rank,
    size,
    host: 'test',
    allreduceF32: (a, what) => (calls.push(`allreduce ${what}`), times(a)),
    allreduceF64: (a, what) => {
      calls.push(`allreduce ${what}`);
      if (what?.startsWith('checksum')) for (let r = 0; r < size; r++) a.set(a.subarray(2 * rank, 2 * rank + 2), 2 * r);
      else times(a);
    },
    barrier: (what) => void calls.push(`barrier ${what}`),
    bcastBytes: () => assert.fail('not used by a run'),
    gatherBytes: () => assert.fail('not used by a run'),
    setTimeout: () => {},
    abort: () => assert.fail('abort'),
    finalize: () => {},
  };
}

test('rankZeroAlone: rank 0 works, every rank then meets in a barrier named after the work', () => {
  for (const rank of [0, 1]) {
    const calls: string[] = [];
    let worked = false;
    rankZeroAlone(parallelOf(recording(rank, 2, calls)), "rank 0's dev evaluation at step 3", () => (worked = true));
    assert.equal(worked, rank === 0);
    assert.deepEqual(calls, ["barrier rank 0's dev evaluation at step 3 (rank 0 works alone, the others wait)"]);
  }
  let worked = false;
  rankZeroAlone(parallelOf(null), 'one process', () => (worked = true));
  assert.ok(worked, 'one process: the work runs, no collective');
});

test('two ranks enter the same collectives; dev evaluations and checkpoints end in barriers named for them', () => {
  const runAs = (rank: number) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cola-alone-${rank}-`));
    const calls: string[] = [];
    let evaluations = 0;
    runChain(config(dir, { evalEvery: 3 }), {
      model: model(),
      objective: lmObjective(examples(16), 0),
      dev: () => (evaluations++, { loss: 1 }),
      log: new MetricsLog(dir),
      shouldStop: () => false,
      baseModel: 'tiny',
      parallel: parallelOf(recording(rank, 2, calls)),
    });
    return { calls, evaluations, checkpoint: fs.existsSync(path.join(dir, 'checkpoint')) };
  };
  const zero = runAs(0);
  const one = runAs(1);
  assert.deepEqual(one.calls, zero.calls, 'the same collectives in the same order on every rank');
  assert.ok(zero.evaluations > 0 && one.evaluations === 0, `rank 0 evaluated ${zero.evaluations} times, rank 1 ${one.evaluations}`);
  assert.ok(zero.checkpoint && !one.checkpoint, 'rank 0 alone writes checkpoints');
  const barriers = zero.calls.filter((c) => c.startsWith('barrier '));
  // 12 steps (16 examples, batch 4, 3 epochs), dev every 3 steps and at the end, checkpoints every 2 and at each knot
  const evals = barriers.filter((c) => c.includes("rank 0's dev evaluation at step"));
  assert.equal(evals.length, zero.evaluations);
  assert.ok(barriers.some((c) => c.includes("rank 0's checkpoint at step 2 ")));
  assert.ok(
    barriers.every((c) => c.endsWith('(rank 0 works alone, the others wait)') && c.length < 111),
    barriers.join('\n'),
  );
  // the wait after an evaluation is no longer inside the next step's batch totals
  const i = zero.calls.indexOf(evals[0]!);
  assert.ok(i > 0 && zero.calls[i - 1]!.startsWith('allreduce'), 'the evaluation follows a step');
});
