import { DEFAULT_LRS } from '../../experiment/grid.js';
import { DEFAULT_METHODS } from '../../experiment/methods.js';
import { runExperiment } from '../../experiment/run.js';
import { parseExperiment } from '../../experiment/spec.js';
import { dataOptions, trainOptions } from '../../train/options.js';
import type { OptionSpecs, OptionValues } from '../options.js';
import { modelOptions } from '../setup.js';
import { stoppable } from '../worker.js';

// The grid sets method, lr and seed per cell, and resumes by itself: those train
// flags (and the per-run chain shape, which each method fixes) are not offered here.
const OWN_BY_GRID = new Set([
  'method',
  'lr',
  'seed',
  'resume',
  'chain-length',
  'knots',
  'knot-every',
  'link-ranks',
  'link-lrs',
  'save-link-adapters',
  'out',
]);
const shared = (specs: OptionSpecs, drop: string[]): OptionSpecs =>
  Object.fromEntries(Object.entries(specs).filter(([k]) => !drop.includes(k) && !OWN_BY_GRID.has(k)));

const specs: OptionSpecs = {
  ...modelOptions,
  ...shared(dataOptions, ['dev-data', 'task', 'data']),
  task: { type: 'list', meta: 'LIST', help: "the paper's tasks to run, e.g. rte,sst2,cb (needs --data-dir)" },
  data: {
    type: 'string',
    meta: 'FILE',
    help: 'a .txt corpus for a language-modelling task (split into train/dev/test; metric: perplexity)',
  },
  'dev-fraction': { type: 'number', default: 0.1, help: 'corpus: share of windows held out as dev (taken after train)' },
  'test-fraction': { type: 'number', default: 0.1, help: 'corpus: share of windows held out as test (the end of the corpus)' },
  methods: { type: 'list', default: DEFAULT_METHODS, meta: 'LIST', help: 'methods: full, lora, cola-lN (N links), cola-stepdown' },
  lrs: {
    type: 'list',
    default: DEFAULT_LRS,
    meta: 'LIST',
    help: 'learning-rate grid, swept for every method (paper: 1e-3,8e-4,5e-4,1e-4,5e-5)',
  },
  seeds: {
    type: 'list',
    default: ['5'],
    meta: 'N|LIST',
    help: 'a count N (seeds 0..N-1) or a list of seeds; each seed also resamples the task data',
  },
  'stepdown-ranks': { type: 'list', default: ['8', '8', '4'], meta: 'LIST', help: 'cola-stepdown: rank per link (paper: 8 then 2/4/6/8)' },
  'stepdown-knots': {
    type: 'list',
    meta: 'LIST',
    help: 'cola-stepdown: knots, e.g. 3e (paper: after epoch 3 of 5); default evenly spaced',
  },
  ...shared(trainOptions, []),
  out: { type: 'string', meta: 'DIR', required: true, help: 'experiment folder: runs/, experiment.json, results.md, plots/, report.html' },
  quiet: { type: 'boolean', help: 'print nothing per cell' },
};

/** The grid, on a worker thread (see ../worker.ts): `shouldStop` turns true on Ctrl-C. */
function experiment(v: OptionValues, shouldStop: () => boolean): number {
  const quiet = (v['quiet'] as boolean | undefined) ?? false;
  const r = runExperiment(v, parseExperiment(v), { quiet, shouldStop });
  const out = v['out'] as string;
  if (!quiet)
    process.stderr.write(
      `cola experiment: ${r.trained} run(s) trained, ${r.skipped} finished before; outputs in ${out}: ${r.files.slice(0, 3).join(', ')}, plots/\n`,
    );
  if (r.stopped) {
    process.stderr.write('cola experiment: stopped; rerun the same command to continue where it stopped\n');
    return 130;
  }
  return 0;
}

export const experimentCommand = stoppable({
  name: 'experiment',
  summary: 'a grid of methods × learning rates × seeds × tasks at equal budgets; best LR on dev, test mean ± std',
  usage:
    'cola experiment --model DIR (--task rte,sst2 --data-dir DIR | --data CORPUS.txt) --out DIR [--methods LIST] [--lrs LIST] [--seeds N] [options]',
  options: specs,
  body: experiment,
});
