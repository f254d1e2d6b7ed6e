/** BoolQ: MeZO BoolQTemplateV3 (its default, template_version=2): `{passage} {Question}?\n`
 * with the question capitalised and `?` added; candidates Yes / No in that order (MeZO
 * BoolQDataset), so label true -> 0. The passage goes without the SuperGLUE title prefix
 * (see boolqPassage). Only val.jsonl is here: see taskData.ts for --boolq-from-val and
 * --fewglue. */
import { stripSpaces } from '../verbalize.js';
import { field, labelOf, type TaskSpec } from './common.js';

const LABELS = new Map<unknown, number>([
  [true, 0],
  [false, 1],
]);

/** Wikipedia titles are at most 255 bytes; the real files' titles are 3 to 75 characters. */
const MAX_TITLE = 256;
const TITLE_SEP = ' -- ';

/**
 * SuperGLUE BoolQ (and FewGLUE, cut from it) writes every passage as
 * `{title} -- {passage}` ("Ethanol fuel -- All biomass goes through ..."); HF `boolq`,
 * which MeZO loads (tasks.py:167), keeps the title in its own field and the passage
 * without it. So the title is cut off: everything up to the FIRST " -- " (passages use
 * " -- " as a dash too, 88 of the 3,270 val rows, always after the title), and only when
 * it comes within MAX_TITLE characters on one line, so a passage that has no title
 * (an HF-style file) stays whole.
 */
export function boolqPassage(passage: string): string {
  const at = passage.indexOf(TITLE_SEP);
  if (at < 0 || at > MAX_TITLE || passage.slice(0, at).includes('\n')) return passage;
  return passage.slice(at + TITLE_SEP.length);
}

function boolqQuestion(q: string): string {
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
    const prompt = `${boolqPassage(field(row, 'passage'))} ${boolqQuestion(field(row, 'question'))}\n`;
    return { prompt: stripSpaces(prompt), candidates: ['Yes', 'No'], label: labelOf(row, LABELS) };
  },
};
