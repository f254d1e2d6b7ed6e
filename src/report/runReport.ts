/** A self-contained HTML report of one training run, written next to its metrics. */
import * as path from 'node:path';
import { writeTextAtomic } from '../io/fileIo.js';
import { page, section } from './html.js';
import { devCharts, runCharts } from './runCharts.js';
import { readRun, type RunData } from './runData.js';
import { chainTable, configTable, devPerLinkTable, knotTable, methodOf, summaryTable } from './runSections.js';

export const REPORT_FILE = 'report.html';

/** The report as an HTML string (for callers that want it without writing). */
function renderRunReport(run: RunData): string {
  const charts = runCharts(run);
  const dev = devCharts(run).join('\n') + devPerLinkTable(run);
  const sections: Array<[string, string, string]> = [
    ['summary', 'Summary', summaryTable(run)],
    ...charts.map((c): [string, string, string] => [c.id, c.title, c.html]),
    ['dev', 'Dev metrics', dev],
    ['chain', 'Chain manifest', chainTable(run)],
    ['knots', 'Knots', knotTable(run)],
    ['config', 'Config', configTable(run)],
  ];
  const title = `cola run: ${path.basename(path.resolve(run.runDir))}`;
  const subtitle = `${methodOf(run)} · ${path.resolve(run.runDir)}`;
  return page(
    title,
    subtitle,
    sections.map(([id, t]) => [id, t]),
    sections.map(([id, t, body]) => section(t, id, body)),
  );
}

/** Read `runDir`, write `runDir/report.html` atomically (temp file + rename, so a
 * browser refreshing mid-run never sees half a page) and return its path. */
export function writeRunReport(runDir: string): string {
  const file = path.join(runDir, REPORT_FILE);
  writeTextAtomic(file, renderRunReport(readRun(runDir)));
  return file;
}
