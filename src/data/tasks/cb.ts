/** CB (SuperGLUE): MeZO CBTemplate (PromptSource); entailment / contradiction / neutral ->
 * Yes / No / Maybe. MeZO uses dev 100 for CB (250 train rows), so train = 150. */
import { stripSpaces } from '../verbalize.js';
import { field, labelOf, type TaskSpec } from './common.js';

const LABELS = new Map<unknown, number>([
  ['entailment', 0],
  ['contradiction', 1],
  ['neutral', 2],
]);

export const cb: TaskSpec = {
  name: 'CB',
  aliases: ['cb'],
  dir: 'CB',
  trainFile: 'train.jsonl',
  valFile: 'val.jsonl',
  candidates: ['Yes', 'No', 'Maybe'],
  numDev: 100,
  trainAsClassification: true,
  hasFewGlue: true,
  render(row) {
    const prompt = `Suppose ${field(row, 'premise')} Can we infer that "${field(row, 'hypothesis')}"? Yes, No, or Maybe?\n`;
    return { prompt: stripSpaces(prompt), candidates: ['Yes', 'No', 'Maybe'], label: labelOf(row, LABELS) };
  },
};
