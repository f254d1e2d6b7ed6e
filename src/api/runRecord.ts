/** A run folder's config.json: what the run was made from. `cola train`, fineTune() and
 * `cola experiment` cells write the same record (issue 16), `--resume` compares against
 * it (resumeCheck.ts), `cola train --config RUN/config.json` replays it and
 * `cola eval --run RUN` evaluates with it. */
import * as path from 'node:path';
import type { RunConfig } from '../cola/runConfig.js';
import type { CausalLM } from '../models/causalLM.js';
import { modelIdentity } from '../models/modelIdentity.js';

export interface RunRecord {
  /** the base model: its folder (absolute) for the CLI, fineTune's `baseModel` otherwise */
  model: string;
  /** modelIdentity() of the base model: what a resume and `cola eval --run` compare */
  modelHash: string;
  backend: string;
  /** the run config, with data paths absolute so the record replays from any folder */
  run: RunConfig;
  /** the frozen weights' precision in memory */
  dtype: 'f32' | 'bf16';
  counts: { train: number; dev: number; test: number };
  truncated: unknown;
  /** data-parallel ranks of an mpirun job (issue 19); absent for one process */
  ranks?: number;
}

/** The record of a run about to start (call before adapters touch the model). */
export function runRecord(
  cfg: RunConfig,
  o: { model: CausalLM; baseModel: string; counts: RunRecord['counts']; truncated: unknown },
): RunRecord {
  return {
    model: o.baseModel,
    modelHash: modelIdentity(o.model),
    backend: o.model.lmHeadWeight().backend.name,
    run: recordedConfig(cfg),
    dtype: o.model.weightDtype,
    counts: o.counts,
    truncated: o.truncated,
  };
}

/** cfg as recorded: JSON-normalised (no undefined keys), with the run folder and the
 * data's files made absolute (a chat template is a name or a file: kept as given). */
export function recordedConfig(cfg: RunConfig): RunConfig {
  const abs = (p: string | undefined): string | undefined => (p === undefined ? undefined : path.resolve(p));
  const data = { ...cfg.data, data: abs(cfg.data.data), devData: abs(cfg.data.devData), dataDir: abs(cfg.data.dataDir) };
  return JSON.parse(JSON.stringify({ ...cfg, outDir: path.resolve(cfg.outDir), data })) as RunConfig;
}
