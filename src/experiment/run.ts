/** Run an experiment grid cell by cell (skipping finished ones), then write its
 * summary files. Stops between cells, or inside one at its next checkpoint, on request. */
import * as path from 'node:path';
import { runCell, type CellOutcome } from './cell.js';
import { gridCells, lrLabel, type Cell } from './grid.js';
import { baselines } from './baseline.js';
import { writeOutputs } from './outputs.js';
import type { CellResult } from './result.js';
import { Session } from './session.js';
import type { ExperimentSpec } from './spec.js';
import type { ExperimentConfig } from './flags.js';

export interface ExperimentRun {
  cells: CellResult[];
  trained: number;
  skipped: number;
  stopped: boolean;
  files: string[];
}

/** The budget every method shares, in words (results.md, experiment.json). */
function budgetText(c: ExperimentConfig, maxLength: number): string {
  const r = c.run;
  const steps = r.maxSteps !== undefined ? `${r.maxSteps} optimizer steps` : `${r.epochs} epochs`;
  const evals = r.evalEvery > 0 ? `every ${r.evalEvery} steps` : 'every epoch';
  return (
    `${steps}, batch ${r.batchSize} × grad-accum ${r.gradAccum}, ${r.schedule} LR schedule, max length ${maxLength}; ` +
    `dev evaluated ${evals}${r.evalAtKnots ? ' and at knots' : ''}, best checkpoint by dev ${r.selectBy}` +
    (r.earlyStoppingPatience !== undefined ? `, early stopping after ${r.earlyStoppingPatience} evaluations without improvement` : '')
  );
}

function line(i: number, n: number, c: Cell, o: CellOutcome, seconds: number): string {
  const head = `[${i + 1}/${n}] ${c.task} ${c.method} lr=${lrLabel(c.lr)} seed=${c.seed}:`;
  if (o.status === 'stopped') return `${head} stopped at step ${o.steps} (checkpoint saved; rerun the same command to resume)`;
  const r = o.result;
  const m = r.metric;
  const text = `dev ${m} ${(r.dev.best.metrics[m] ?? NaN).toFixed(4)} (step ${r.dev.best.step}), test ${(r.test[m] ?? NaN).toFixed(4)}, ${r.steps} steps`;
  return o.status === 'skipped'
    ? `${head} finished before: ${text}`
    : `${head} ${text}, ${seconds.toFixed(1)} s${r.resumed ? ' (resumed)' : ''}`;
}

export function runExperiment(
  c: ExperimentConfig,
  spec: ExperimentSpec,
  opts: { quiet: boolean; shouldStop: () => boolean },
): ExperimentRun {
  const out = c.exp.out!;
  const session = new Session(c);
  const grid = gridCells(
    spec.tasks.map((t) => t.name),
    spec.methods.map((m) => m.name),
    spec.lrs,
    spec.seeds,
  );
  const run: ExperimentRun = { cells: [], trained: 0, skipped: 0, stopped: false, files: [] };
  for (const [i, cell] of grid.entries()) {
    if (opts.shouldStop()) {
      run.stopped = true;
      break;
    }
    const start = Date.now();
    const method = spec.methods.find((m) => m.name === cell.method)!;
    const task = spec.tasks.find((t) => t.name === cell.task)!;
    const o = runCell({ cell, out, config: c, method, task, session, shouldStop: opts.shouldStop });
    if (!opts.quiet) process.stderr.write(`cola experiment ${line(i, grid.length, cell, o, (Date.now() - start) / 1000)}\n`);
    if (o.status === 'stopped') {
      run.stopped = true;
      break;
    }
    run.cells.push(o.result);
    if (o.status === 'done') run.trained++;
    else run.skipped++;
  }
  const base = run.stopped ? new Map() : baselines(out, session, spec.tasks, spec.seeds);
  run.files = writeOutputs(out, spec, run.cells, {
    model: path.resolve(c.exp.model!),
    budget: budgetText(c, session.maxLength()),
    total: grid.length,
    base,
  });
  return run;
}
