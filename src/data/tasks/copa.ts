/**
 * COPA: MeZO CopaTemplate (capitalization "correct"). Prompt = premise without its final
 * "." + " so " (effect) or " because " (cause), stripped of spaces; candidates = the two
 * choices with the first word lower-cased unless it is "I"; full text = prompt + " " +
 * choice, e.g. "The man turned on the faucet so water flowed from the spout.".
 * MeZO trains Copa LM-style on the gold option (finetune.sh: --train_as_classification
 * False) with dev 100, so train = 300 of the 400 rows.
 */
import { ColaError } from '../../errors.js';
import { stripSpaces } from '../verbalize.js';
import { field, type TaskSpec } from './common.js';

/** MeZO CopaTemplate.capitalize: first word lower-cased unless it is "I". */
function copaChoice(c: string): string {
  const words = c.split(' ');
  if (words[0] !== 'I') words[0] = words[0].toLowerCase();
  return words.join(' ');
}

function connector(question: string): string {
  if (question === 'effect') return ' so ';
  if (question === 'cause') return ' because ';
  throw new ColaError(`expected "question" "cause" or "effect", found ${JSON.stringify(question)}`);
}

export const copa: TaskSpec = {
  name: 'COPA',
  aliases: ['copa'],
  dir: 'COPA',
  trainFile: 'train.jsonl',
  valFile: 'val.jsonl',
  candidates: null,
  numDev: 100,
  trainAsClassification: false,
  hasFewGlue: true,
  render(row) {
    let premise = field(row, 'premise').trimEnd();
    if (premise.endsWith('.')) premise = premise.slice(0, -1);
    const prompt = stripSpaces(premise + connector(field(row, 'question')));
    const label = row.label;
    if (label !== 0 && label !== 1) throw new ColaError(`expected "label" 0 or 1, found ${String(label)}`);
    return { prompt, candidates: [copaChoice(field(row, 'choice1')), copaChoice(field(row, 'choice2'))], label };
  },
};
