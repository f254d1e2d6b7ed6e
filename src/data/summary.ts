/** `cola data --task NAME --data-dir DIR --seed S --json [--show N]`: split sizes after
 * the protocol's sampling, and optionally the first rendered training examples. */
import type { RenderedChoice } from './examples.js';
import { loadTaskData, type DataSource, type TaskDataOptions } from './taskData.js';
import { getTask } from './tasks/registry.js';
import { joinPromptCandidate } from './verbalize.js';

export interface TaskSummary {
  task: string;
  seed: number;
  source: DataSource;
  train: number;
  dev: number;
  test: number;
  available: { train: number; val: number };
  trainAsClassification: boolean;
  examples?: Array<RenderedChoice & { texts: string[] }>;
}

export function taskSummary(taskName: string, dataDir: string, seed: number, show = 0, opts: TaskDataOptions = {}): TaskSummary {
  const task = getTask(taskName);
  const d = loadTaskData(task, dataDir, seed, opts);
  const out: TaskSummary = {
    task: task.name,
    seed,
    source: d.source,
    train: d.train.length,
    dev: d.dev.length,
    test: d.test.length,
    available: d.available,
    trainAsClassification: task.trainAsClassification,
  };
  if (show > 0) {
    out.examples = d.train.slice(0, show).map((r) => ({ ...r, texts: r.candidates.map((c) => joinPromptCandidate(r.prompt, c)) }));
  }
  return out;
}
