import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runConfigFrom } from '../../src/train/options.js';
import { planChain } from '../../src/cola/plan.js';
import { cellValues } from '../../src/experiment/cell.js';
import { cellDir, gridCells, parseLrs, parseSeeds } from '../../src/experiment/grid.js';
import { DEFAULT_METHODS, methodSpec, type MethodSpec } from '../../src/experiment/methods.js';
import { experimentCommand } from '../../src/cli/commands/experiment.js';
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
  const m = methodSpec('cola-l3', [8], undefined) as MethodSpec;
  assert.equal(m.flags['chain-length'], 3);
  const sd = methodSpec('cola-stepdown', [8, 8, 4], undefined) as MethodSpec;
  assert.deepEqual(sd.flags['link-ranks'], ['8', '8', '4']);
  assert.match(methodSpec('cola', [8], undefined) as string, /unknown method "cola"/);
  assert.match(methodSpec('cola-l0', [8], undefined) as string, /at least one link/);
});

test('equal budgets: every method trains the same total optimizer steps; a chain only splits them', () => {
  const { values } = parseOptions(
    ['--model', 'm', '--data', 'c.txt', '--out', '/o', '--epochs', '5', '--batch-size', '4'],
    experimentCommand.options,
    'experiment',
  );
  const stepsPerEpoch = 25; // e.g. 100 examples at batch 4
  const plans = DEFAULT_METHODS.map((name) => {
    const method = methodSpec(name, [8, 8, 4], undefined) as MethodSpec;
    const inp = {
      cell: { task: 'c', method: name, lr: 1e-3, seed: 0 },
      out: '/o',
      values,
      method,
      task: { name: 'c', corpus: 'c.txt' },
      session: null as unknown as Session,
      shouldStop: () => false,
    };
    const cfg = runConfigFrom(cellValues(inp, false));
    const total = cfg.epochs * stepsPerEpoch;
    const chainLength = cfg.method === 'cola' ? cfg.chainLength : 1;
    return {
      name,
      cfg,
      links: planChain({
        totalSteps: total,
        stepsPerEpoch,
        chainLength,
        knots: cfg.knots,
        rank: cfg.lora.r,
        linkRanks: cfg.linkRanks,
        lr: cfg.lr,
      }),
    };
  });
  for (const p of plans) {
    assert.equal(
      p.links.reduce((s, l) => s + (l.end - l.start), 0),
      125,
      p.name,
    );
    assert.equal(p.links.at(-1)!.end, 125, p.name);
    assert.deepEqual([p.cfg.epochs, p.cfg.batchSize, p.cfg.gradAccum, p.cfg.maxSteps], [5, 4, 1, undefined], p.name);
  }
  assert.deepEqual(
    plans.map((p) => p.links.length),
    [1, 1, 2, 3, 3],
  );
  assert.deepEqual(
    plans.at(-1)!.links.map((l) => l.rank),
    [8, 8, 4],
  );
});
