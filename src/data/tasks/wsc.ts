/** WSC (SuperGLUE): MeZO WSCTemplate (PromptSource); No = false, Yes = true. MeZO reads
 * HF "wsc.fixed", which differs from the original only in some span indices; the template
 * uses span texts only. With 554 train rows, 1000 + 500 leaves 54 train examples. */
import { stripSpaces } from '../verbalize.js';
import { field, labelOf, nested, type TaskSpec } from './common.js';

const LABELS = new Map<unknown, number>([
  [false, 0],
  [true, 1],
]);

export const wsc: TaskSpec = {
  name: 'WSC',
  aliases: ['wsc'],
  dir: 'WSC',
  trainFile: 'train.jsonl',
  valFile: 'val.jsonl',
  candidates: ['No', 'Yes'],
  numDev: 500,
  trainAsClassification: true,
  hasFewGlue: true,
  render(row) {
    const span1 = nested(row, 'target', 'span1_text');
    const span2 = nested(row, 'target', 'span2_text').toLowerCase();
    const prompt = `${field(row, 'text')}\nIn the previous sentence, does the pronoun "${span2}" refer to ${span1}? Yes or No?\n`;
    return { prompt: stripSpaces(prompt), candidates: ['No', 'Yes'], label: labelOf(row, LABELS) };
  },
};
