/** What every task file provides, and small helpers to read fields with clear errors. */
import { ColaError } from '../../errors.js';
import type { RenderedChoice } from '../examples.js';
import { preview, readJsonl, type JsonObject } from '../jsonl.js';

/** One raw example plus where it came from (file and line), for error messages. */
export interface TaskRow {
  data: JsonObject;
  where: string;
}

export interface TaskSpec {
  /** Canonical name, as in the paper's tables ("SST-2", "BoolQ"). */
  name: string;
  /** Lower-case names accepted on the command line. */
  aliases: string[];
  /** Folder under the data dir (and under FewGLUE_32dev/ when the task has one). */
  dir: string;
  trainFile: string;
  valFile: string;
  /** Verbalizer words in label order; null when candidates come from the row (COPA). */
  candidates: string[] | null;
  /** MeZO finetune.sh: dev 500, but 100 for CB and Copa ("<1000 training examples"). */
  numDev: number;
  /** MeZO trains Copa LM-style on the gold option (--train_as_classification False). */
  trainAsClassification: boolean;
  hasFewGlue: boolean;
  /** Reads one split file into rows; default: JSONL, one row per line. */
  readRows?: (file: string) => TaskRow[];
  render(row: JsonObject): RenderedChoice;
}

export function jsonlRows(file: string): TaskRow[] {
  return readJsonl(file).rows.map((r) => ({ data: r.value, where: `${file} line ${r.line}` }));
}

export function field(row: JsonObject, name: string): string {
  const v = row[name];
  if (typeof v !== 'string') throw new ColaError(`expected string field "${name}", found ${preview(v === undefined ? 'nothing' : v)}`);
  return v;
}

export function nested(row: JsonObject, obj: string, name: string): string {
  const o = row[obj];
  if (o === null || typeof o !== 'object') throw new ColaError(`expected object field "${obj}", found ${preview(o ?? 'nothing')}`);
  return field(o as JsonObject, name);
}

/** Maps a raw label (string, boolean or number) to a candidate index. */
export function labelOf(row: JsonObject, map: Map<unknown, number>): number {
  const i = map.get(row.label);
  if (i === undefined)
    throw new ColaError(
      `expected "label" in ${[...map.keys()].map((k) => JSON.stringify(k)).join(', ')}, found ${preview(row.label ?? 'nothing')}`,
    );
  return i;
}

/** Renders a row, adding the file and line to any error. */
export function renderAt(task: TaskSpec, row: TaskRow): RenderedChoice {
  try {
    return task.render(row.data);
  } catch (e) {
    if (e instanceof ColaError)
      throw new ColaError(`${row.where}: ${e.message} (task ${task.name}). Is this the original ${task.name} file?`);
    throw e;
  }
}
