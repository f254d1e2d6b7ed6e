import * as path from 'node:path';
import { trainRun } from '../../api/trainRun.js';
import { runtimeLine } from '../../backend/runtime.js';
import { REPORT_FILE } from '../../report/runReport.js';
import type { RunEvent } from '../../train/metricsLog.js';
import { valuesOf } from '../../config/flags.js';
import { resolveRunConfig } from '../../cola/runConfig.js';
import { DATA_FLAGS, RUN_FLAGS } from '../../cola/runFlags.js';
import { specsOf, type OptionSpecs, type OptionValues } from '../options.js';
import { progressPrinter, type OutputMode } from '../progress.js';
import { loadModelAndTokenizer, modelOptions } from '../setup.js';
import { stoppable } from '../worker.js';

/** How the run talks to the user; the run itself does not depend on them. */
export const outputOptions: OptionSpecs = {
  quiet: { type: 'boolean', help: 'print nothing while training' },
  json: { type: 'boolean', help: 'print machine-readable JSON events on stdout' },
};

/** The run, on a worker thread (see ../worker.ts): `shouldStop` turns true on Ctrl-C. */
function train(v: OptionValues, shouldStop: () => boolean): number {
  const cfg = resolveRunConfig(valuesOf(RUN_FLAGS, v), valuesOf(DATA_FLAGS, v), { where: 'cola train' });
  const { model, tokenizer, dir, backend } = loadModelAndTokenizer(v);
  const mode: OutputMode = v['json'] ? 'json' : v['quiet'] ? 'quiet' : 'progress';
  if (mode === 'progress') process.stderr.write(`cola train: ${runtimeLine(backend.name, model.weightDtype)}\n`);
  let print: (e: RunEvent) => void = () => {};
  const r = trainRun(cfg, {
    model,
    tokenizer,
    meta: { model: path.resolve(dir), backend: backend.name, quantize: v['quantize'] ?? null },
    baseModel: path.resolve(dir),
    onStart: (s) => {
      if (mode === 'progress') process.stderr.write(`cola train: ${JSON.stringify(s.config)}\n`);
      print = progressPrinter(mode, s.totalSteps, s.links);
    },
    onEvent: (e) => print(e),
    shouldStop,
  });
  if (r.stopped) {
    process.stderr.write(`cola train: stopped at step ${r.steps} with a checkpoint; resume with the same command plus --resume\n`);
    return 130;
  }
  if (mode !== 'json')
    process.stderr.write(
      `cola train: done, ${r.steps} steps; outputs in ${cfg.outDir} (adapter/, chain.json, metrics.jsonl, ${REPORT_FILE})\n`,
    );
  return 0;
}

export const trainCommand = stoppable({
  name: 'train',
  summary: 'fine-tune with LoRA, COLA (chain of LoRA), ReLoRA or full fine-tuning',
  usage: 'cola train --model DIR (--data FILE | --task NAME --data-dir DIR) --method lora|cola|relora|full --out RUN_DIR [options]',
  options: { ...modelOptions, ...specsOf(DATA_FLAGS), ...specsOf(RUN_FLAGS), ...outputOptions },
  body: train,
});
