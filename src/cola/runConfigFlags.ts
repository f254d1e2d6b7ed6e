/** The inverse of resolveRunConfig: the flag values that rebuild a RunConfig. A run's
 * config.json records the resolved RunConfig; `cola train --config RUN/config.json`
 * turns it back into flags (issue 16: it was refused with `unknown key "counts"`), so a
 * run replays from its own record. resolveRunConfig(runConfigFlags(cfg)) equals cfg up
 * to the run folder (test/cola/runConfigFlags.test.ts). */
import { ColaError } from '../errors.js';
import type { DataFlags, RunFlags } from './runFlags.js';
import type { RunConfig } from './runConfig.js';

export type ReplayFlags = Partial<RunFlags & DataFlags>;

/** Flag values (camelCase keys) for `cfg`, without --out and --resume: a replay is a new
 * run in a folder of its own. Flags the method refuses are left out. `file` names the
 * record in messages. */
export function runConfigFlags(cfg: RunConfig, file: string): ReplayFlags {
  const need = (ok: boolean, key: string, what: string): void => {
    if (!ok) throw new ColaError(`${file}: "run.${key}" must be ${what}; the run's config.json is damaged`);
  };
  for (const k of ['data', 'budget', 'optim', 'chain', 'lora', 'eval'] as const)
    need(typeof cfg[k] === 'object' && cfg[k] !== null, k, 'an object');
  need(['lora', 'cola', 'relora', 'full'].includes(cfg.method), 'method', 'one of lora, cola, relora, full');
  const { lora, chain, data } = cfg;
  if ((lora.rankPattern && Object.keys(lora.rankPattern).length) || (lora.alphaPattern && Object.keys(lora.alphaPattern).length))
    throw new ColaError(
      `${file}: the run used a LoRA rank or alpha pattern (fineTune's lora option), which no flag of cola train sets; replay it with fineTune`,
    );
  // a corpus split into train/dev/test by `cola experiment` (train/heldOut.ts): no train flag says that
  if (data.heldOut)
    throw new ColaError(
      `${file}: "run.data.heldOut": the run's data ${data.data ?? ''} is split into train/dev/test by cola experiment, which no flag of cola train ` +
        'sets; rerun the experiment (finished cells are kept), or score the run with `cola eval --run DIR`',
    );
  const full = cfg.method === 'full';
  const chained = cfg.method === 'cola' || cfg.method === 'relora';
  const flags: ReplayFlags = {
    method: cfg.method,
    seed: cfg.seed,
    // data: dataSeed only when it is not the run seed (it follows --seed otherwise)
    data: data.data,
    devData: data.devData,
    task: data.task,
    dataDir: data.dataDir,
    boolqFromVal: data.source === 'val',
    fewglue: data.source === 'fewglue',
    dataSeed: data.seed !== cfg.seed ? data.seed : undefined,
    numTrain: data.numTrain,
    numDev: data.numDev,
    numTest: data.numTest,
    maxLength: data.maxLength,
    skipBad: data.skipBad,
    chatTemplate: data.chatTemplate,
    // budget, optimizer, evaluation, outputs
    epochs: cfg.budget.epochs,
    maxSteps: cfg.budget.maxSteps,
    batchSize: cfg.budget.batchSize,
    gradAccum: cfg.budget.gradAccum,
    lr: cfg.optim.lr,
    schedule: cfg.optim.schedule,
    warmupSteps: cfg.optim.warmupSteps,
    weightDecay: cfg.optim.weightDecay,
    maxGradNorm: cfg.optim.maxGradNorm,
    evalEvery: cfg.eval.every,
    selectBy: cfg.eval.selectBy,
    saveEvery: cfg.saveEvery,
    gradientCheckpointing: cfg.gradientCheckpointing,
    quantizeCalibration: cfg.quantizeCalibration,
    // LoRA
    rank: lora.r,
    alpha: lora.alpha,
    loraDropout: lora.dropout,
    loraInit: lora.init,
    targets: lora.targets === 'all-linear' ? ['all-linear'] : lora.targetRegex !== undefined ? undefined : lora.targets,
    ...(full ? {} : { rslora: lora.useRslora, targetRegex: lora.targetRegex, saveLinkAdapters: cfg.saveLinkAdapters }),
  };
  if (chained) {
    Object.assign(flags, {
      linkRanks: chain.linkRanks?.map(String),
      linkLrs: chain.linkLrs?.map(String),
      chainSchedule: chain.schedule,
      rewarmupSteps: chain.schedule === 'jagged' ? chain.rewarmupSteps : undefined,
      optimizerReset: chain.optimizerReset,
      evalAtKnots: cfg.eval.atKnots,
    });
    if (cfg.method === 'relora') flags.knotEvery = chain.knotEvery;
    else if (chain.knots?.length) flags.knots = chain.knots;
    else flags.chainLength = chain.length;
  }
  return Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined && v !== false)) as ReplayFlags;
}
