import { ColaError } from '../../errors.js';
import { taskSummary } from '../../data/summary.js';
import type { Command } from '../command.js';

export const dataCommand: Command = {
  name: 'data',
  summary: "show the split sizes (and rendered prompts) of one of the paper's tasks after sampling",
  usage: 'cola data --task NAME --data-dir DIR [--seed S] [--show N] [--boolq-from-val | --fewglue] [--json]',
  options: {
    task: { type: 'string', meta: 'NAME', required: true, help: "one of the paper's tasks: sst2, rte, cb, boolq, wsc, wic, multirc, copa" },
    'data-dir': { type: 'string', meta: 'DIR', required: true, help: 'folder holding the task files (SST-2/, RTE/, ...)' },
    seed: { type: 'int', default: 0, help: 'seed of the MeZO train/dev/test sampling' },
    show: { type: 'int', default: 0, help: 'also print the first N rendered training prompts with candidates and label' },
    'boolq-from-val': { type: 'boolean', help: 'BoolQ: carve train/dev/test disjointly from val.jsonl' },
    fewglue: { type: 'boolean', help: 'use the FewGLUE 32-shot train/dev32 splits' },
    'num-train': { type: 'int', help: 'training examples sampled (MeZO: 1000)' },
    'num-dev': { type: 'int', help: 'dev examples sampled (MeZO: 500, CB/COPA 100)' },
    'num-test': { type: 'int', help: 'test examples (MeZO: up to 1000)' },
    json: { type: 'boolean', help: 'print one JSON object on stdout' },
  },
  run(v) {
    const show = v['show'] as number;
    if (show < 0) throw new ColaError(`--show must be >= 0, got ${show}`);
    if (v['boolq-from-val'] && v['fewglue']) throw new ColaError('--boolq-from-val and --fewglue choose different splits: give one');
    const s = taskSummary(v['task'] as string, v['data-dir'] as string, v['seed'] as number, show, {
      source: v['boolq-from-val'] ? 'val' : v['fewglue'] ? 'fewglue' : undefined,
      numTrain: v['num-train'] as number | undefined,
      numDev: v['num-dev'] as number | undefined,
      numEval: v['num-test'] as number | undefined,
    });
    if (v['json']) {
      process.stdout.write(JSON.stringify(s) + '\n');
      return 0;
    }
    const lines = [
      `${s.task} (seed ${s.seed}, source ${s.source}): train ${s.train}, dev ${s.dev}, test ${s.test} (available: train ${s.available.train}, val ${s.available.val})`,
      ...(s.examples ?? []).flatMap((e, i) => [
        `--- example ${i} (label ${e.label}: ${JSON.stringify(e.candidates[e.label])})`,
        e.prompt,
        `candidates: ${e.candidates.map((c) => JSON.stringify(c)).join(' | ')}`,
      ]),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
