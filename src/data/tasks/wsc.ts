/** WSC (SuperGLUE): MeZO WSCTemplate (templates.py:242-256, PromptSource); No = false,
 * Yes = true. MeZO reads HF super_glue "wsc.fixed" (tasks.py:279), whose loader repairs
 * span texts that do not occur in the sentence (wscSpan below); the files here are the
 * original SuperGLUE ones, where 88 train and 8 val spans differ from the sentence, most
 * only in case ("The table" where the sentence says "the table"). With 554 train rows,
 * MeZO's 1000 + 500 leaves 54 train examples. */
import { ColaError } from '../../errors.js';
import { stripSpaces } from '../verbalize.js';
import { field, labelOf, nested, type TaskSpec } from './common.js';

const LABELS = new Map<unknown, number>([
  [false, 0],
  [true, 1],
]);

/** HF's loader leaves these as they are: the sentence has words between the names. */
const UNFIXABLE = new Set(['Kamenev and Zinoviev', 'Kamenev, Zinoviev, and Stalin']);

/**
 * A span's text as HF super_glue "wsc.fixed" gives it (super_glue.py `_fix_wst`): kept
 * when it occurs verbatim in the text; otherwise its first letter takes the case of the
 * text's word at the span's index (words split on whitespace, like Python's str.split()),
 * trailing periods are dropped and newlines become spaces. HF asserts that the result
 * occurs in the text; here a span that still does not is an error naming it. (HF also
 * means to rewrite "theyscold" in the text, but its `str.replace` result is discarded, so
 * the text stays as it is here too.)
 */
export function wscSpan(text: string, span: string, index: unknown): string {
  if (text.includes(span) || UNFIXABLE.has(span)) return span;
  const words = text.split(/\s+/).filter((w) => w !== '');
  const word = typeof index === 'number' && Number.isInteger(index) ? words[index] : undefined;
  if (word === undefined)
    throw new ColaError(
      `span "${span}" is not in the text and its index ${String(index)} is not a word index of the text (${words.length} words)`,
    );
  const first = span.charAt(0);
  const lower = word.charAt(0) !== word.charAt(0).toUpperCase(); // Python str.islower() on one char
  const cased = (lower ? first.toLowerCase() : first.toUpperCase()) + span.slice(1);
  const fixed = cased.replace(/\.+$/, '').replace(/\n/g, ' ');
  if (!text.includes(fixed))
    throw new ColaError(`span "${span}" does not occur in the text, even as "${fixed}" (HF wsc.fixed's repair); fix the span text`);
  return fixed;
}

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
    const text = field(row, 'text');
    const target = row.target as Record<string, unknown> | undefined;
    const span1 = wscSpan(text, nested(row, 'target', 'span1_text'), target?.span1_index);
    const span2 = wscSpan(text, nested(row, 'target', 'span2_text'), target?.span2_index).toLowerCase();
    const prompt = `${text}\nIn the previous sentence, does the pronoun "${span2}" refer to ${span1}? Yes or No?\n`;
    return { prompt: stripSpaces(prompt), candidates: ['No', 'Yes'], label: labelOf(row, LABELS) };
  },
};
