/** SST-2 (GLUE): MeZO SST2Template, `{sentence} It was` -> terrible / great. */
import { readFileSync } from 'node:fs';
import { ColaError } from '../../errors.js';
import { stripSpaces } from '../verbalize.js';
import { field, type TaskRow, type TaskSpec } from './common.js';

/** TSV with header `sentence\tlabel`. Split on the LAST tab: sentences contain `"` that
 * are not CSV quotes. The trailing space before the tab is trimmed (MeZO: `.strip()`). */
export function parseSst2Tsv(text: string, file: string): TaskRow[] {
  const lines = text.split('\n');
  if (lines[0].replace(/\r$/, '') !== 'sentence\tlabel') {
    throw new ColaError(
      `${file} line 1: expected the header "sentence<TAB>label", found ${JSON.stringify(lines[0].slice(0, 60))}; is this GLUE SST-2?`,
    );
  }
  const rows: TaskRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line === '') continue;
    const tab = line.lastIndexOf('\t');
    const label = tab < 0 ? '' : line.slice(tab + 1).trim();
    if (label !== '0' && label !== '1') {
      throw new ColaError(`${file} line ${i + 1}: expected "<sentence><TAB>0|1", found ${JSON.stringify(line.slice(0, 80))}`);
    }
    rows.push({ data: { sentence: line.slice(0, tab).trim(), label: Number(label) }, where: `${file} line ${i + 1}` });
  }
  return rows;
}

export const sst2: TaskSpec = {
  name: 'SST-2',
  aliases: ['sst-2', 'sst2'],
  dir: 'SST-2',
  trainFile: 'train.tsv',
  valFile: 'dev.tsv',
  candidates: ['terrible', 'great'],
  numDev: 500,
  trainAsClassification: true,
  hasFewGlue: false,
  readRows: (file) => parseSst2Tsv(readFileSync(file, 'utf8'), file),
  render(row) {
    const label = row.label;
    if (label !== 0 && label !== 1) throw new ColaError(`expected "label" 0 or 1, found ${String(label)}`);
    return { prompt: stripSpaces(`${field(row, 'sentence').trim()} It was`), candidates: ['terrible', 'great'], label };
  },
};
