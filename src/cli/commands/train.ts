import * as path from 'node:path';
import { prepareRunData, trainRun } from '../../api/trainRun.js';
import { printDryRun } from './trainDryRun.js';
import { runtimeLine } from '../../backend/runtime.js';
import { REPORT_FILE } from '../../report/runReport.js';
import type { RunEvent } from '../../train/metricsLog.js';
import { valuesOf } from '../../config/flags.js';
import { resolveRunConfig, type RunConfig } from '../../cola/runConfig.js';
import { isLoftqInit } from '../../lora/config.js';
import { launchedByMpirun, mpiWorld } from '../../backend/mpi.js';
import { parallelOf, type Parallel } from '../../train/distributed.js';
import { DATA_FLAGS, RUN_FLAGS } from '../../cola/runFlags.js';
import { specsOf, type OptionSpecs, type OptionValues } from '../options.js';
import { progressPrinter, type OutputMode } from '../progress.js';
import { loadCalibratedBase, loadModelAndTokenizer, modelOptions, type CalibrationReport, type LoadedModel } from '../setup.js';
import type { PreparedData } from '../../train/prepare.js';
import { stoppable } from '../worker.js';

/** How the run talks to the user; the run itself does not depend on them. */
export const outputOptions: OptionSpecs = {
  quiet: { type: 'boolean', help: 'print nothing while training' },
  json: { type: 'boolean', help: 'print machine-readable JSON events on stdout' },
  'dry-run': {
    type: 'boolean',
    help: 'print the effective config, the chain plan (links, knots, steps) and a peak-memory estimate, then exit: no weight is read, no file written',
  },
};

const distributedOption: OptionSpecs = {
  distributed: {
    type: 'boolean',
    help: 'data-parallel over the ranks of `mpirun -np N cola train ...` (implied under mpirun; refused outside it); --batch-size stays the global batch',
  },
};

/** The run, on a worker thread (see ../worker.ts): `shouldStop` turns true on Ctrl-C. */
function train(v: OptionValues, shouldStop: () => boolean): number {
  const distributed = v['distributed'] === true || launchedByMpirun();
  const cfg = resolveRunConfig(valuesOf(RUN_FLAGS, v), valuesOf(DATA_FLAGS, v), { where: 'cola train', distributed });
  if (v['dry-run']) return printDryRun(cfg, v);
  const comm = distributed ? mpiWorld() : null;
  comm?.setTimeout(cfg.rankTimeout ?? 0); // the watchdog (issue 19): a hung rank ends the job
  try {
    const code = trainOn(cfg, v, shouldStop, parallelOf(comm));
    comm?.finalize();
    return code;
  } catch (e) {
    // The message names the rank; this rank exits non-zero and mpirun ends the others.
    if (comm && e instanceof Error) e.message = `rank ${comm.rank} of ${comm.size} (${comm.host}): ${e.message}`;
    throw e;
  }
}

function trainOn(cfg: RunConfig, v: OptionValues, shouldStop: () => boolean, parallel: Parallel): number {
  const { model, tokenizer, dir, backend, data, calibration } = loadRunBase(cfg, v);
  // rank 0 speaks for the job; the others print nothing (their errors still reach stderr)
  const mode: OutputMode = parallel.rank !== 0 ? 'quiet' : v['json'] ? 'json' : v['quiet'] ? 'quiet' : 'progress';
  if (mode === 'progress') process.stderr.write(`cola train: ${runtimeLine(backend.name, model.weightDtype)}\n`);
  if (mode === 'progress' && calibration)
    process.stderr.write(
      `cola train: GPTQ codes (${model.quantizeOnLoad}) for ${calibration.layers} layers from ${cfg.quantizeCalibration} training examples (${calibration.tokens} tokens) in ${calibration.seconds.toFixed(1)} s\n`,
    );
  if (mode === 'progress' && parallel.size > 1)
    process.stderr.write(`cola train: data parallel over ${parallel.size} ranks, ${cfg.budget.batchSize} examples per global batch\n`);
  let print: (e: RunEvent) => void = () => {};
  const r = trainRun(cfg, {
    model,
    tokenizer,
    baseModel: path.resolve(dir),
    data,
    onStart: (s) => {
      if (mode !== 'quiet') for (const n of s.notes) process.stderr.write(`cola train --resume: ${n}\n`);
      if (mode === 'progress') process.stderr.write(`cola train: ${JSON.stringify(s.config)}\n`);
      print = progressPrinter(mode, s.totalSteps, s.links);
    },
    onEvent: (e) => print(e),
    shouldStop,
    parallel,
  });
  if (parallel.rank !== 0) return r.stopped ? 130 : 0;
  if (r.alreadyDone) {
    if (mode !== 'quiet') for (const n of r.notes ?? []) process.stderr.write(`cola train --resume: ${n}\n`);
    if (mode !== 'quiet') process.stderr.write(`cola train: ${cfg.outDir} already finished (${r.steps} steps); nothing to do\n`);
    return 0;
  }
  if (r.stopped) {
    process.stderr.write(`cola train: stopped at step ${r.steps} with a checkpoint; resume with the same command plus --resume\n`);
    return 130;
  }
  if (mode !== 'json') {
    if (r.best) process.stderr.write(`cola train: best dev ${metricsLine(r.best.metrics)} at step ${r.best.step}\n`);
    if (r.test) process.stderr.write(`cola train: test ${metricsLine(r.test.metrics)} (the model of step ${r.test.step})\n`);
    const early = r.earlyStop
      ? ` (stopped early: ${r.earlyStop.patience} evaluations without improvement; best at step ${r.earlyStop.bestStep})`
      : '';
    process.stderr.write(
      `cola train: done, ${r.steps} steps${early}; outputs in ${cfg.outDir} (adapter/, chain.json, metrics.jsonl, metrics.csv, ${REPORT_FILE})\n`,
    );
  }
  return 0;
}

/** The base as the run asks: with --quantize-calibration, loaded dense and quantized with
 * GPTQ on the run's first training examples (the data read once, handed to trainRun). */
function loadRunBase(cfg: RunConfig, v: OptionValues): LoadedModel & { data?: PreparedData; calibration?: CalibrationReport } {
  // LoftQ re-chooses the codes from the dense weights (the first link's wrap takes them)
  if (cfg.quantizeCalibration === undefined) return loadModelAndTokenizer(v, undefined, undefined, isLoftqInit(cfg.lora.init));
  return loadCalibratedBase(v, cfg.quantizeCalibration, (m, tok) => prepareRunData(cfg, m, tok));
}

function metricsLine(m: Record<string, number>): string {
  return Object.entries(m)
    .map(([k, x]) => `${k} ${Number.isInteger(x) ? x : x.toFixed(4)}`)
    .join(', ');
}

export const trainCommand = stoppable({
  name: 'train',
  summary: 'fine-tune with LoRA, COLA (chain of LoRA), ReLoRA or full fine-tuning',
  usage: 'cola train --model DIR (--data FILE | --task NAME --data-dir DIR) --method lora|cola|relora|full --out RUN_DIR [options]',
  options: { ...modelOptions, ...specsOf(DATA_FLAGS), ...specsOf(RUN_FLAGS), ...outputOptions, ...distributedOption },
  body: train,
});
