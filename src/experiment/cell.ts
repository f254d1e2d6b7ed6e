/** One cell of the grid: a training run (method, lr, seed, task) in its own folder,
 * through the same trainRun as `cola train`. A cell with result.json is finished and
 * skipped; one with a checkpoint resumes from it. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { recordedConfig } from '../api/runRecord.js';
import { trainRun } from '../api/trainRun.js';
import type { RunSummary } from '../cola/run.js';
import { resolveRunConfig, type RunConfig } from '../cola/runConfig.js';
import { settingsDiff } from '../config/settingsDiff.js';
import { ColaError } from '../errors.js';
import { readJsonObject, writeJsonAtomic } from '../io/fileIo.js';
import { readRun } from '../report/runData.js';
import type { PreparedData } from '../train/prepare.js';
import { cellData, dataSettings, reportMetrics, type TaskRef } from './data.js';
import type { ExperimentConfig } from './flags.js';
import { cellDir, type Cell } from './grid.js';
import type { MethodSpec } from './methods.js';
import { devAndTokens, readResult, RESULT_FILE, type CellResult } from './result.js';
import type { Session } from './session.js';

const CELL_FILE = 'cell.json';

export interface CellInputs {
  cell: Cell;
  out: string;
  config: ExperimentConfig;
  method: MethodSpec;
  task: TaskRef;
  session: Session;
  shouldStop: () => boolean;
}

export type CellOutcome = { status: 'done' | 'skipped'; result: CellResult } | { status: 'stopped'; steps: number };

/** The cell's RunConfig: the shared flags, the method's, its lr and seed, and the cell's
 * task or corpus as its data (recorded in config.json, so `cola eval --run CELL` replays it). */
export function cellConfig(inp: CellInputs, resume: boolean): RunConfig {
  const { cell, method, config } = inp;
  const run = { ...config.run, ...method.flags, lr: cell.lr, seed: cell.seed, out: cellDir(inp.out, cell), resume };
  const cfg = resolveRunConfig(run, config.data, { where: `cola experiment (${cell.method})` });
  return { ...cfg, data: cellData(inp.task, config, cfg.data.seed) };
}

/** Everything that decides the cell's numbers, JSON-normalised. Output-only settings
 * (checkpoint cadence, folders) are left out: they do not change the result. */
function cellSettings(inp: CellInputs, cfg: RunConfig): Record<string, unknown> {
  const outputOnly = new Set(['outDir', 'resume', 'saveEvery', 'saveLinkAdapters', 'reportTo', 'data']);
  const run = Object.fromEntries(Object.entries(cfg).filter(([k]) => !outputOnly.has(k)));
  const full = cfg.method === 'full';
  const settings = {
    model: path.resolve(inp.config.exp.model!),
    dtype: full ? 'f32' : (inp.config.exp.dtype ?? 'checkpoint'),
    // issue 17: a cell on a quantized base is another cell (absent when none: older folders match)
    quantize: full ? undefined : inp.config.exp.quantize,
    // --double-quant likewise (absent when off: older folders match)
    doubleQuant: full || !inp.config.exp.doubleQuant ? undefined : true,
    run,
    data: dataSettings(inp.task, inp.config, cfg.data.seed, inp.session.maxLength()),
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
  const cfg = cellConfig(inp, resume);
  const settings = cellSettings(inp, cfg);
  const done = readResult(dir);
  if (done) {
    checkSettings(dir, RESULT_FILE, done.settings, settings);
    recordData(dir, cfg);
    return { status: 'skipped', result: done };
  }
  if (resume) {
    checkSettings(dir, CELL_FILE, readJsonObject(path.join(dir, CELL_FILE))['settings'] as Record<string, unknown>, settings);
    recordData(dir, cfg);
  }
  const start = Date.now();
  const data = inp.session.data(inp.task, cfg.data.seed);
  const summary = train(inp, cfg, data, settings);
  if (summary.stopped) return { status: 'stopped', steps: summary.steps };
  const result = assemble(inp, cfg, data, summary, settings, (Date.now() - start) / 1000);
  writeJsonAtomic(path.join(dir, RESULT_FILE), result);
  return { status: 'done', result };
}

/** A cell written before cells recorded their data has a config.json whose run.data
 * names no task and no file (`cola eval --run` could not replay it). Its settings matched
 * ours (checkSettings), so its data is this cell's: the record gains it, and a resume then
 * compares like with like. Any other record is left as it is. */
function recordData(dir: string, cfg: RunConfig): void {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) return;
  const record = readJsonObject(file);
  const run = record['run'];
  if (typeof run !== 'object' || run === null) return;
  const data = (run as { data?: unknown }).data;
  if (typeof data !== 'object' || data === null || 'task' in data || 'data' in data) return;
  writeJsonAtomic(file, { ...record, run: { ...run, data: recordedConfig(cfg).data } });
}

function train(inp: CellInputs, cfg: RunConfig, data: PreparedData, settings: Record<string, unknown>): RunSummary {
  const { model, tokenizer, dir } = inp.session.model(cfg.method === 'full', data);
  if (!cfg.resume) {
    fs.mkdirSync(cfg.outDir, { recursive: true });
    writeJsonAtomic(path.join(cfg.outDir, CELL_FILE), { ...inp.cell, settings });
  }
  return trainRun(cfg, {
    model,
    tokenizer,
    baseModel: path.resolve(dir),
    data,
    shouldStop: inp.shouldStop,
  });
}

function assemble(
  inp: CellInputs,
  cfg: RunConfig,
  data: PreparedData,
  s: RunSummary,
  settings: Record<string, unknown>,
  wall: number,
): CellResult {
  if (!s.best) throw new ColaError(`${cfg.outDir}: the run finished without a dev evaluation`);
  const { perLink, final, tokens } = devAndTokens(cfg.outDir, s.links);
  return {
    ...inp.cell,
    dataSeed: cfg.data.seed,
    kind: data.kind,
    metric: reportMetrics(inp.task).metric,
    higherIsBetter: data.higherIsBetter,
    selectBy: cfg.eval.selectBy,
    runDir: path.relative(inp.out, cfg.outDir),
    steps: s.steps,
    earlyStop: s.earlyStop,
    tokens,
    counts: data.counts,
    truncated: data.truncated,
    links: s.links,
    dev: { perLink, final, best: s.best },
    test: testAt(cfg.outDir, s.best.step),
    lossCurve: 'metrics.jsonl',
    wallSeconds: wall,
    resumed: cfg.resume,
    settings,
  };
}

/** Test metrics of the best-on-dev evaluation (logged beside dev at every evaluation, so
 * every method alike, and on disk, so a resume keeps them). A step evaluated twice (a
 * resume) holds the same model state: the last line wins. */
function testAt(runDir: string, step: number): Record<string, number> {
  const e = readRun(runDir)
    .evals.filter((x) => x.step === step)
    .at(-1);
  if (!e || Object.keys(e.test).length === 0)
    throw new ColaError(`${runDir}/metrics.jsonl: no test evaluation at step ${step}; remove ${runDir} to rerun the cell`);
  return e.test;
}
