/** The run report's tables: summary, dev metrics per link, chain manifest, knots, config. */
import { formatDuration, formatNumber, formatValue, median } from './format.js';
import { kvTable, note, table, warning } from './html.js';
import type { RunData } from './runData.js';
import { devKeys, knotSteps, linkSpans, linkStats, values } from './runLinks.js';

const MODEL_KEYS = ['model', 'model_path', 'modelPath', 'model-path', 'base_model', 'checkpoint'];

export function methodOf(run: RunData): string {
  return run.chain?.method ?? (typeof run.config?.method === 'string' ? run.config.method : 'unknown');
}

function modelOf(run: RunData): string {
  const key = MODEL_KEYS.find((k) => run.config?.[k] !== undefined);
  return key ? formatValue(run.config![key]) : 'unknown';
}

function opt(v: number | undefined, f: (x: number) => string = formatNumber): string {
  return v === undefined ? '—' : f(v);
}

export function summaryTable(run: RunData): string {
  const last = run.steps.at(-1);
  const elapsed = run.done?.elapsed_s ?? last?.elapsed_s;
  const tokens = values(run.steps, 'tokens');
  const stop = run.done?.earlyStop;
  const status = !run.done
    ? `incomplete: last logged step ${last?.step ?? 'none'}`
    : stop
      ? `stopped early at step ${opt(stop.step, String)}: ${opt(stop.patience, String)} evaluations without improvement (best at step ${opt(stop.best_step, String)})`
      : 'finished';
  const rows: Array<[string, string]> = [
    ['status', status],
    ['method', methodOf(run)],
    ['model', modelOf(run)],
    ['links / knots', `${linkSpans(run).length} / ${knotSteps(run).length}`],
    ['steps', opt(run.done?.step ?? last?.step, String)],
    ['elapsed', opt(elapsed, formatDuration)],
    ['tokens trained', tokens.length ? formatNumber(tokens.reduce((a, b) => a + b, 0)) : '—'],
    ['median tokens/s', opt(median(values(run.steps, 'tokens_per_s')))],
    ['last train loss', opt(run.steps.filter((s) => s.loss !== undefined).at(-1)?.loss)],
  ];
  for (const [k, v] of Object.entries(run.done?.final ?? {})) rows.push([`final ${k}`, formatValue(v)]);
  return kvTable(rows) + run.warnings.map(warning).join('\n');
}

export function devPerLinkTable(run: RunData): string {
  const keys = devKeys(run);
  if (keys.length === 0) return note('No dev evaluations were logged.');
  const rows = linkSpans(run).map((span) => {
    const s = linkStats(run, span);
    return [
      String(span.index),
      `${span.start}–${span.end}`,
      opt(s.lastEval?.step, String),
      ...keys.map((k) => opt(s.lastEval?.metrics[k])),
    ];
  });
  return table(['link', 'steps', 'eval step', ...keys], rows);
}

/** Manifest links as a table: every key the trainer wrote, plus measured time and speed. */
export function chainTable(run: RunData): string {
  if (!run.chain) return note('chain.json is missing.');
  const links = run.chain.links;
  const cols = [...new Set(links.flatMap((l) => Object.keys(l)))];
  const spans = linkSpans(run);
  const rows = links.map((l, i) => {
    const s = spans[i] ? linkStats(run, spans[i]) : undefined;
    return [
      ...cols.map((c) => formatValue(l[c])),
      opt(s?.steps, String),
      opt(s?.elapsed, formatDuration),
      opt(s?.medianTokensPerS),
      opt(s?.lastLoss),
    ];
  });
  const extra = Object.entries(run.chain).filter(([k]) => k !== 'links');
  return (
    table([...cols, 'steps logged', 'time', 'median tokens/s', 'last loss'], rows) + kvTable(extra.map(([k, v]) => [k, formatValue(v)]))
  );
}

export function knotTable(run: RunData): string {
  const logged = new Map(run.knots.map((k) => [k.step, k]));
  const rows = knotSteps(run).map((step, i) => {
    const k = logged.get(step);
    const rank = k ? `${opt(k.rank, String)} → ${opt(k.next_rank, String)}` : '—';
    const links = k ? `${opt(k.link, String)} → ${opt(k.next_link, String)}` : 'not reached';
    return [String(i + 1), String(step), links, rank, opt(k?.delta_norm), opt(k?.loss_before), opt(k?.loss_after)];
  });
  if (rows.length === 0) return note('No knots: a single-link run (plain LoRA).');
  return table(['knot', 'step', 'link', 'rank', 'delta norm', 'loss before', 'loss after'], rows);
}

export function configTable(run: RunData): string {
  if (!run.config) return note('config.json is missing.');
  return kvTable(Object.entries(run.config).map(([k, v]) => [k, formatValue(v)]));
}
