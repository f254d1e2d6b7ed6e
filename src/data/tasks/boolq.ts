/** BoolQ: MeZO BoolQTemplateV3 (its default, template_version=2): `{passage} {Question}?\n`
 * with the question capitalised and `?` added; candidates Yes / No in that order (MeZO
 * BoolQDataset), so label true -> 0. Only val.jsonl is here: see sampling.ts for
 * --boolq-from-val and --fewglue. */
import { stripSpaces } from '../verbalize.js';
import { field, labelOf, type TaskSpec } from './common.js';

const LABELS = new Map<unknown, number>([
  [true, 0],
  [false, 1],
]);

export function boolqQuestion(q: string): string {
  const withMark = q.endsWith('?') ? q : `${q}?`;
  return withMark.charAt(0).toUpperCase() + withMark.slice(1);
}

export const boolq: TaskSpec = {
  name: 'BoolQ',
  aliases: ['boolq'],
  dir: 'BoolQ',
  trainFile: 'train.jsonl',
  valFile: 'val.jsonl',
  candidates: ['Yes', 'No'],
  numDev: 500,
  trainAsClassification: true,
  hasFewGlue: true,
  render(row) {
    const prompt = `${field(row, 'passage')} ${boolqQuestion(field(row, 'question'))}\n`;
    return { prompt: stripSpaces(prompt), candidates: ['Yes', 'No'], label: labelOf(row, LABELS) };
  },
};
