/** RTE (SuperGLUE): MeZO RTETemplate (PromptSource), Yes = entailment, No = not_entailment. */
import { stripSpaces } from '../verbalize.js';
import { field, labelOf, type TaskSpec } from './common.js';

const LABELS = new Map<unknown, number>([
  ['entailment', 0],
  ['not_entailment', 1],
]);

export const rte: TaskSpec = {
  name: 'RTE',
  aliases: ['rte'],
  dir: 'RTE',
  trainFile: 'train.jsonl',
  valFile: 'val.jsonl',
  candidates: ['Yes', 'No'],
  numDev: 500,
  trainAsClassification: true,
  hasFewGlue: true,
  render(row) {
    const prompt = `${field(row, 'premise')}\nDoes this mean that "${field(row, 'hypothesis')}" is true? Yes or No?\n`;
    return { prompt: stripSpaces(prompt), candidates: ['Yes', 'No'], label: labelOf(row, LABELS) };
  },
};
