import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planChain, planRun } from '../../src/cola/plan.js';
import { cellConfig } from '../../src/experiment/cell.js';
import { cellDir, gridCells, parseLrs, parseSeeds } from '../../src/experiment/grid.js';
import { DEFAULT_METHODS, methodSpec, stepdownKnot, type MethodSpec } from '../../src/experiment/methods.js';
import { experimentCommand, experimentConfigOf } from '../../src/cli/commands/experiment.js';
import { parseOptions } from '../../src/cli/options.js';
import type { Session } from '../../src/experiment/session.js';

test('seeds: a count means 0..N-1, a list means those seeds; bad values are problems', () => {
  const problems: string[] = [];
  assert.deepEqual(parseSeeds(['3'], problems), [0, 1, 2]);
  assert.deepEqual(parseSeeds(['4', '7'], problems), [4, 7]);
  assert.deepEqual(problems, []);
  parseSeeds(['x'], problems);
  parseSeeds(['0'], problems);
  parseLrs(['1e-3', '-1', 'abc'], problems);
  assert.equal(problems.length, 3);
  assert.match(problems[2]!, /-1, abc/);
});

test('the grid is seed-major and every cell gets its own folder', () => {
  const cells = gridCells(['rte'], ['lora', 'cola-l2'], [1e-3, 5e-4], [0, 1]);
  assert.equal(cells.length, 8);
  assert.deepEqual(
    cells.slice(0, 4).map((c) => c.seed),
    [0, 0, 0, 0],
  );
  assert.equal(new Set(cells.map((c) => cellDir('/o', c))).size, 8);
  assert.equal(cellDir('/o', cells[1]!), '/o/runs/rte/lora/lr-5e-4/seed-0');
});

test('methods: names map to train flags; unknown names are problems', () => {
  const m = methodSpec('cola-l3', [8], undefined, 5) as MethodSpec;
  assert.equal(m.flags.chainLength, 3);
  const sd = methodSpec('cola-stepdown', [8, 8, 4], undefined, 5) as MethodSpec;
  assert.deepEqual(sd.flags.linkRanks, ['8', '8', '4']);
  assert.match(methodSpec('cola', [8], undefined, 5) as string, /unknown method "cola"/);
  assert.match(methodSpec('cola-l0', [8], undefined, 5) as string, /at least one link/);
});

test("cola-stepdown is the paper's: two links, rank 8 for 3 of 5 epochs, then the smaller rank, knot on an epoch boundary", () => {
  const sd = methodSpec('cola-stepdown', [8, 4], undefined, 5) as MethodSpec;
  assert.deepEqual(sd.flags, { method: 'cola', knots: ['3e'], linkRanks: ['8', '4'] });
  assert.equal(stepdownKnot(10), '6e');
  assert.equal(stepdownKnot(2), '1e', 'at least one epoch per link');
  assert.equal(stepdownKnot(1), '0.6e', 'a one-epoch run steps down after 3/5 of its steps');
  const links = planChain({ totalSteps: 125, stepsPerEpoch: 25, knots: sd.flags.knots, rank: 8, linkRanks: [8, 4], lr: 1e-3 });
  assert.deepEqual(
    links.map((l) => [l.start, l.end, l.rank]),
    [
      [0, 75, 8],
      [75, 125, 4],
    ],
  );
});

test('equal budgets: every method trains the same total optimizer steps; a chain only splits them', () => {
  const config = experimentConfigOf(
    parseOptions(
      ['--model', 'm', '--data', 'c.txt', '--out', '/o', '--epochs', '5', '--batch-size', '4'],
      experimentCommand.options,
      'experiment',
    ).values,
  );
  const microBatches = 25; // e.g. 100 examples at batch 4
  const plans = DEFAULT_METHODS.map((name) => {
    const method = methodSpec(name, [8, 4], undefined, 5) as MethodSpec;
    const inp = {
      cell: { task: 'c', method: name, lr: 1e-3, seed: 0 },
      out: '/o',
      config,
      method,
      task: { name: 'c', corpus: 'c.txt' },
      session: null as unknown as Session,
      shouldStop: () => false,
    };
    const cfg = cellConfig(inp, false);
    return { name, cfg, plan: planRun(cfg, microBatches) };
  });
  for (const p of plans) {
    assert.equal(p.plan.totalSteps, 125, p.name);
    assert.equal(p.plan.links.at(-1)!.end, 125, p.name);
    assert.deepEqual(p.plan.evalSteps, [25, 50, 75, 100, 125], `${p.name}: dev at every epoch end, the same for every method`);
    assert.deepEqual(
      [p.cfg.budget.epochs, p.cfg.budget.batchSize, p.cfg.budget.gradAccum, p.cfg.budget.maxSteps],
      [5, 4, 1, undefined],
      p.name,
    );
  }
  assert.deepEqual(
    plans.map((p) => p.plan.links.length),
    [1, 1, 2, 3, 2],
  );
  assert.deepEqual(
    plans.at(-1)!.plan.links.map((l) => l.rank),
    [8, 4],
  );
});
