/** The untrained model's dev and test metrics per task: the row every method is
 * measured against (a method that does not beat it learned nothing). Cached in
 * runs/<task>/base/seed-N.json like a cell, so a resumed experiment skips it. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../io/fileIo.js';
import { noGrad } from '../tensor/autograd.js';
import { reportMetrics, type TaskRef } from './data.js';
import { safeName } from './grid.js';
import { stats, type Stats } from './select.js';
import type { Session } from './session.js';

export interface Baseline {
  dev: Stats;
  test: Stats;
}

interface BaseEval {
  dev: number;
  test: number;
}

export function baselines(out: string, session: Session, tasks: TaskRef[], seeds: number[]): Map<string, Baseline> {
  const result = new Map<string, Baseline>();
  for (const task of tasks) {
    // a corpus split does not depend on the seed: evaluate it once
    const evals = (task.corpus ? seeds.slice(0, 1) : seeds).map((seed) => baseEval(out, session, task, seed, reportMetrics(task).metric));
    result.set(task.name, { dev: stats(evals.map((e) => e.dev)), test: stats(evals.map((e) => e.test)) });
  }
  return result;
}

function baseEval(out: string, session: Session, task: TaskRef, seed: number, metric: string): BaseEval {
  const file = path.join(out, 'runs', safeName(task.name), 'base', `seed-${seed}.json`);
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as BaseEval;
  const data = session.data(task, seed);
  const { model } = session.model(false, data);
  const score = (split: 'dev' | 'test'): number =>
    data.hasSplit(split) ? (noGrad(() => data.evaluate(model, split))[metric] ?? NaN) : NaN;
  const e = { dev: score('dev'), test: score('test') };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeJsonAtomic(file, e);
  return e;
}
