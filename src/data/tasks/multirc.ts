/** MultiRC (SuperGLUE): one JSONL line per paragraph, flattened (as HF super_glue/multirc,
 * which MeZO reads) to one binary example per (paragraph, question, answer), in file order.
 * MeZO MultiRCTemplate (PromptSource); No = 0, Yes = 1. */
import { ColaError } from '../../errors.js';
import { preview, readJsonl, type JsonObject } from '../jsonl.js';
import { stripSpaces } from '../verbalize.js';
import { field, labelOf, type TaskRow, type TaskSpec } from './common.js';

const LABELS = new Map<unknown, number>([
  [0, 0],
  [1, 1],
]);

function arrayField(o: JsonObject, name: string, where: string): JsonObject[] {
  const v = o[name];
  if (!Array.isArray(v))
    throw new ColaError(`${where}: expected array field "${name}", found ${preview(v ?? 'nothing')}; is this the original MultiRC file?`);
  return v as JsonObject[];
}

function flattenMultiRc(file: string): TaskRow[] {
  const rows: TaskRow[] = [];
  for (const r of readJsonl(file).rows) {
    const where = `${file} line ${r.line}`;
    const passage = r.value.passage as JsonObject | undefined;
    if (!passage || typeof passage.text !== 'string')
      throw new ColaError(`${where}: expected "passage": {"text", "questions"}, found ${preview(r.value)}`);
    for (const q of arrayField(passage, 'questions', where)) {
      for (const a of arrayField(q, 'answers', where)) {
        rows.push({ data: { paragraph: passage.text, question: q.question, answer: a.text, label: a.label }, where });
      }
    }
  }
  return rows;
}

export const multirc: TaskSpec = {
  name: 'MultiRC',
  aliases: ['multirc'],
  dir: 'MultiRC',
  trainFile: 'train.jsonl',
  valFile: 'val.jsonl',
  candidates: ['No', 'Yes'],
  numDev: 500,
  trainAsClassification: true,
  hasFewGlue: true,
  readRows: flattenMultiRc,
  render(row) {
    const prompt =
      `${field(row, 'paragraph')}\nQuestion: ${field(row, 'question')}\n` +
      `I found this answer "${field(row, 'answer')}". Is that correct? Yes or No?\n`;
    return { prompt: stripSpaces(prompt), candidates: ['No', 'Yes'], label: labelOf(row, LABELS) };
  },
};
