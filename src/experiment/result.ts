/** result.json of one cell: what the run reached on dev, link by link, and the test
 * metrics of its best-on-dev checkpoint. Its presence marks the cell as finished. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EarlyStop } from '../cola/earlyStop.js';
import type { Link } from '../cola/plan.js';
import type { Metrics } from '../eval/evaluate.js';
import { readJsonObject } from '../io/fileIo.js';
import { readRun } from '../report/runData.js';
import { ColaError } from '../errors.js';
import type { Cell } from './grid.js';

export const RESULT_FILE = 'result.json';

export interface DevPoint {
  link: number;
  step: number;
  metrics: Metrics;
}

export interface CellResult extends Cell {
  dataSeed: number;
  kind: 'lm' | 'classification';
  /** The reported metric (accuracy, perplexity) and whether larger is better. */
  metric: string;
  higherIsBetter: boolean;
  /** How the best checkpoint of the run was chosen: dev loss (MeZO) or the metric. */
  selectBy: 'loss' | 'metric';
  /** Relative to the experiment's --out, so the folder can move. */
  runDir: string;
  steps: number;
  /** set when early stopping ended the run before its budget (cola/earlyStop.ts) */
  earlyStop?: EarlyStop | null;
  tokens: number;
  counts: { train: number; dev: number; test: number };
  /** Examples per split left-truncated to the max length (absent in results of cola before
   * session 13, which did not record them). */
  truncated?: { train: number; dev: number; test: number };
  links: Link[];
  dev: { perLink: DevPoint[]; final: Metrics; best: { step: number; metrics: Metrics } };
  /** Test metrics at the best-on-dev step (the checkpoint the paper reports). */
  test: Metrics;
  /** The training loss curve (step events) inside runDir. */
  lossCurve: string;
  wallSeconds: number;
  resumed: boolean;
  /** What decided the result (model, data, budget, method, lr, seed); a rerun must match. */
  settings: Record<string, unknown>;
}

export function readResult(dir: string): CellResult | null {
  const file = path.join(dir, RESULT_FILE);
  return fs.existsSync(file) ? (readJsonObject(file) as unknown as CellResult) : null;
}

const strip = (m: Record<string, number>): Metrics => Object.fromEntries(Object.entries(m).map(([k, v]) => [k.replace(/^dev_/, ''), v]));

/** Dev metrics at each link's last step, and the tokens trained, from metrics.jsonl. */
export function devAndTokens(runDir: string, links: Link[]): { perLink: DevPoint[]; final: Metrics; tokens: number } {
  const run = readRun(runDir);
  const perLink = links.flatMap((l) => {
    const e = run.evals.filter((x) => x.step === l.end).at(-1);
    return e ? [{ link: l.index, step: e.step, metrics: strip(e.metrics) }] : [];
  });
  const last = run.evals.at(-1);
  if (!last) throw new ColaError(`${runDir}/metrics.jsonl has no dev evaluation; remove the folder to rerun the cell`);
  return { perLink, final: strip(last.metrics), tokens: run.steps.reduce((s, e) => s + (e.tokens ?? 0), 0) };
}
