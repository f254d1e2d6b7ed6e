/** All classification tasks of the paper's protocol (MeZO's SuperGLUE set + SST-2). */
import { ColaError } from '../../errors.js';
import { boolq } from './boolq.js';
import { cb } from './cb.js';
import type { TaskSpec } from './common.js';
import { copa } from './copa.js';
import { multirc } from './multirc.js';
import { rte } from './rte.js';
import { sst2 } from './sst2.js';
import { wic } from './wic.js';
import { wsc } from './wsc.js';

const TASKS: readonly TaskSpec[] = [sst2, rte, cb, boolq, wsc, wic, multirc, copa];

export function taskNames(): string[] {
  return TASKS.map((t) => t.name);
}

/** Finds a task by name, case-insensitively ("sst2", "SST-2", "boolq"). */
export function getTask(name: string): TaskSpec {
  const key = name.toLowerCase();
  const t = TASKS.find((x) => x.aliases.includes(key) || x.name.toLowerCase() === key);
  if (!t) throw new ColaError(`unknown task "${name}"; expected one of ${taskNames().join(', ')}`);
  return t;
}

export type { TaskSpec, TaskRow } from './common.js';
