/** Render a report in headless Chromium and check the charts made it into the DOM.
 *
 *   node dist/scripts/check_report.js [report.html | runDir] [--screenshot out.png]
 *
 * With no path it builds a synthetic run (test/report/fakeRun) in a temp folder. The
 * browser runs with networking features off and a throwaway profile, so a report that
 * needed the network would show it as missing content rather than silently fetching. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeRunReport } from '../src/report/runReport.js';
import { writeFakeRun } from '../test/report/fakeRun.js';

export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** $CHROMIUM, when set, is the only candidate (so CHROMIUM=/nonexistent forces a skip). */
export function findChromium(): string | undefined {
  const env = process.env.CHROMIUM;
  return (env !== undefined ? [env] : CHROMIUM_CANDIDATES).find((p) => p !== '' && fs.existsSync(p));
}

/** Run headless Chromium on `file` with `extra` flags; returns stdout. A fresh profile
 * dir per call so parallel runs (and stale locks) cannot interfere. */
function runChromium(chromium: string, file: string, extra: string[]): string {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-chromium-'));
  try {
    const flags = [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
    ];
    flags.push(
      '--disable-sync',
      '--no-first-run',
      '--hide-scrollbars',
      `--user-data-dir=${profile}`,
      ...extra,
      pathToFileURL(path.resolve(file)).href,
    );
    return execFileSync(chromium, flags, { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

export function dumpDom(chromium: string, file: string): string {
  return runChromium(chromium, file, ['--dump-dom']);
}

export function screenshot(chromium: string, file: string, png: string, size = '1200,2000'): void {
  runChromium(chromium, file, [`--screenshot=${path.resolve(png)}`, `--window-size=${size}`]);
}

export interface DomCheck {
  svgs: number;
  knots: number;
  seriesPaths: number;
  problems: string[];
}

/** What a rendered report must contain: charts, drawn series, and a readable page. */
export function checkDom(dom: string, minCharts = 2): DomCheck {
  const count = (re: RegExp) => (dom.match(re) ?? []).length;
  const res = {
    svgs: count(/<svg\b/g),
    knots: count(/class="knot"/g),
    seriesPaths: count(/<g class="series"[^>]*><path d="M/g),
    problems: [] as string[],
  };
  if (res.svgs < minCharts) res.problems.push(`expected at least ${minCharts} <svg> charts, found ${res.svgs}`);
  if (res.seriesPaths === 0) res.problems.push('no chart has a drawn series');
  if (!/<h1>/.test(dom)) res.problems.push('the page has no <h1>: it did not render');
  return res;
}

function parseArgs(argv: string[]): { target?: string; png?: string } {
  const out: { target?: string; png?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--screenshot') out.png = argv[++i];
    else out.target = argv[i];
  }
  return out;
}

function main(argv: string[]): number {
  const chromium = findChromium();
  if (!chromium) {
    console.error('check_report: no Chromium found (apt-get install chromium, or set CHROMIUM=/path)');
    return 2;
  }
  const { target: given, png } = parseArgs(argv);
  const target = given ?? writeFakeRun(fs.mkdtempSync(path.join(os.tmpdir(), 'cola-fakerun-')));
  const file = fs.statSync(target).isDirectory() ? writeRunReport(target) : target;
  const res = checkDom(dumpDom(chromium, file));
  console.log(`${file}: ${res.svgs} charts, ${res.seriesPaths} series, ${res.knots} knot markers`);
  if (png) {
    screenshot(chromium, file, png);
    console.log(`screenshot: ${png} (${fs.statSync(png).size} bytes)`);
  }
  for (const p of res.problems) console.error(`problem: ${p}`);
  return res.problems.length ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href)
  process.exitCode = main(process.argv.slice(2));
