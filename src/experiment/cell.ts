/** One cell of the grid: a training run (method, lr, seed, task) in its own folder,
 * through the same machinery as `cola train`. A cell with result.json is finished and
 * skipped; one with a checkpoint resumes from it. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runConfigFrom } from '../train/options.js';
import type { OptionValues } from '../cli/options.js';
import { ensureRunDir, runChain, type RunConfig, type RunSummary } from '../cola/run.js';
import { ColaError } from '../errors.js';
import { readJsonObject, writeJsonAtomic } from '../io/fileIo.js';
import { writeRunReport } from '../report/runReport.js';
import { MetricsLog, type RunEvent } from '../train/metricsLog.js';
import type { PreparedData } from '../train/prepare.js';
import { dataSettings, reportMetrics, type TaskRef } from './data.js';
import { cellDir, type Cell } from './grid.js';
import type { MethodSpec } from './methods.js';
import { devAndTokens, readResult, RESULT_FILE, settingsDiff, type CellResult } from './result.js';
import type { Session } from './session.js';
import { TestLog } from './testLog.js';

const CELL_FILE = 'cell.json';

export interface CellInputs {
  cell: Cell;
  out: string;
  /** The experiment's flags (shared by every cell). */
  values: OptionValues;
  method: MethodSpec;
  task: TaskRef;
  session: Session;
  shouldStop: () => boolean;
}

export type CellOutcome = { status: 'done' | 'skipped'; result: CellResult } | { status: 'stopped'; steps: number };

/** The `cola train` flags of this cell: the shared ones, the method's, its lr and seed. */
export function cellValues(inp: CellInputs, resume: boolean): OptionValues {
  const { cell, method, values } = inp;
  return { ...values, ...method.flags, lr: cell.lr, seed: cell.seed, out: cellDir(inp.out, cell), resume };
}

const dataSeedOf = (inp: CellInputs): number => (inp.values['data-seed'] as number | undefined) ?? inp.cell.seed;

/** Everything that decides the cell's numbers, JSON-normalised. Output-only flags
 * (checkpoint cadence, backend, quiet) are left out: they do not change the result. */
export function cellSettings(inp: CellInputs, cfg: RunConfig): Record<string, unknown> {
  const outputOnly = new Set(['outDir', 'resume', 'saveEvery', 'saveLinkAdapters']);
  const run = Object.fromEntries(Object.entries(cfg).filter(([k]) => !outputOnly.has(k)));
  const full = cfg.method === 'full';
  const settings = {
    model: path.resolve(inp.values['model'] as string),
    dtype: full ? 'f32' : (inp.values['dtype'] ?? 'checkpoint'),
    run,
    data: dataSettings(inp.task, inp.values, dataSeedOf(inp), inp.values['max-length'] as number),
  };
  return JSON.parse(JSON.stringify(settings)) as Record<string, unknown>;
}

function hasCheckpoint(dir: string): boolean {
  return ['checkpoint', 'checkpoint.old'].some((d) => fs.existsSync(path.join(dir, d, 'state.json')));
}

/** A folder made with other settings must not be skipped or resumed as if it were ours. */
function checkSettings(dir: string, file: string, old: Record<string, unknown>, now: Record<string, unknown>): void {
  const diff = settingsDiff(old, now);
  if (diff.length === 0) return;
  throw new ColaError(
    `${path.join(dir, file)} was made with other settings:\n  ${diff.join('\n  ')}\n` +
      'Rerun with the original flags, choose another --out, or remove that folder to recompute the cell.',
  );
}

export function runCell(inp: CellInputs): CellOutcome {
  const dir = cellDir(inp.out, inp.cell);
  const resume = hasCheckpoint(dir);
  const values = cellValues(inp, resume);
  const cfg = runConfigFrom(values);
  const settings = cellSettings(inp, cfg);
  const done = readResult(dir);
  if (done) {
    checkSettings(dir, RESULT_FILE, done.settings, settings);
    return { status: 'skipped', result: done };
  }
  if (resume) checkSettings(dir, CELL_FILE, readJsonObject(path.join(dir, CELL_FILE))['settings'] as Record<string, unknown>, settings);
  const start = Date.now();
  const data = inp.session.data(inp.task, dataSeedOf(inp));
  const { summary, test } = train(inp, cfg, values, data, settings);
  if (summary.stopped) return { status: 'stopped', steps: summary.steps };
  writeRunReport(dir);
  const result = assemble(inp, cfg, data, summary, test, settings, (Date.now() - start) / 1000);
  writeJsonAtomic(path.join(dir, RESULT_FILE), result);
  return { status: 'done', result };
}

function train(
  inp: CellInputs,
  cfg: RunConfig,
  values: OptionValues,
  data: PreparedData,
  settings: Record<string, unknown>,
): { summary: RunSummary; test: TestLog } {
  const { model, dir, backend } = inp.session.model(cfg.method === 'full');
  if (cfg.method === 'full') model.requiresGrad(true);
  ensureRunDir(cfg.outDir, cfg.resume);
  const test = new TestLog(cfg.outDir);
  if (!cfg.resume) {
    test.reset();
    writeJsonAtomic(path.join(cfg.outDir, CELL_FILE), { ...inp.cell, settings });
  }
  const effective = {
    ...Object.fromEntries(Object.entries(values).filter(([, x]) => x !== undefined)),
    backend: backend.name,
    dtype: model.weightDtype,
    counts: data.counts,
  };
  writeJsonAtomic(path.join(cfg.outDir, 'config.json'), effective);
  let step = 0; // dev is evaluated inside the step callback, right after the step is logged
  const log = new MetricsLog(cfg.outDir, [(e: RunEvent) => void (e.event === 'step' && (step = e['step'] as number))]);
  const summary = runChain(cfg, {
    model,
    objective: data.train,
    dev: () => {
      test.write(step, data.evaluate(model, 'test'));
      return data.evaluate(model, 'dev');
    },
    devHigherIsBetter: data.higherIsBetter,
    log,
    shouldStop: inp.shouldStop,
    baseModel: path.resolve(dir),
  });
  return { summary, test };
}

function assemble(
  inp: CellInputs,
  cfg: RunConfig,
  data: PreparedData,
  s: RunSummary,
  test: TestLog,
  settings: Record<string, unknown>,
  wall: number,
): CellResult {
  if (!s.best) throw new ColaError(`${cfg.outDir}: the run finished without a dev evaluation`);
  const { perLink, final, tokens } = devAndTokens(cfg.outDir, s.links);
  return {
    ...inp.cell,
    dataSeed: dataSeedOf(inp),
    kind: data.kind,
    metric: reportMetrics(inp.task).metric,
    higherIsBetter: data.higherIsBetter,
    runDir: path.relative(inp.out, cfg.outDir),
    steps: s.steps,
    tokens,
    counts: data.counts,
    links: s.links,
    dev: { perLink, final, best: s.best },
    test: test.at(s.best.step),
    lossCurve: 'metrics.jsonl',
    wallSeconds: wall,
    resumed: cfg.resume,
    settings,
  };
}
