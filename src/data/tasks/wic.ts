/** WiC (SuperGLUE): MeZO WICTemplate (PromptSource); No = false, Yes = true. */
import { stripSpaces } from '../verbalize.js';
import { field, labelOf, type TaskSpec } from './common.js';

const LABELS = new Map<unknown, number>([
  [false, 0],
  [true, 1],
]);

export const wic: TaskSpec = {
  name: 'WiC',
  aliases: ['wic'],
  dir: 'WiC',
  trainFile: 'train.jsonl',
  valFile: 'val.jsonl',
  candidates: ['No', 'Yes'],
  numDev: 500,
  trainAsClassification: true,
  hasFewGlue: true,
  render(row) {
    const prompt =
      `Does the word "${field(row, 'word')}" have the same meaning in these two sentences? Yes, No?\n` +
      `${field(row, 'sentence1')}\n${field(row, 'sentence2')}\n`;
    return { prompt: stripSpaces(prompt), candidates: ['No', 'Yes'], label: labelOf(row, LABELS) };
  },
};
