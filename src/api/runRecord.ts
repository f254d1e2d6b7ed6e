/** A run folder's config.json: what the run was made from. `cola train`, fineTune() and
 * `cola experiment` cells write the same record (issue 16), `--resume` compares against
 * it (resumeCheck.ts), `cola train --config RUN/config.json` replays it and
 * `cola eval --run RUN` evaluates with it. */
import * as path from 'node:path';
import type { RunConfig } from '../cola/runConfig.js';
import { absoluteDataFiles } from '../data/formats.js';
import type { CausalLM } from '../models/causalLM.js';
import { modelIdentity } from '../models/modelIdentity.js';
import type { QuantFormat } from '../backend/quant/format.js';
import { QuantizedLinear } from '../nn/quantizedLinear.js';

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
  /** --quantize at load (issue 17): replayed by `cola train --config`, compared by --resume;
   * null when none */
  quantize: QuantFormat | null;
  /** --double-quant at load (nf4's block scales double-quantized): replayed and compared
   * as `quantize` is */
  doubleQuant: boolean;
  /** the base's linear layers held quantized, by format ({} when dense): from --quantize,
   * or from the file itself (a Q8_0 / Q4_0 GGUF keeps its linear weights quantized) */
  quantizedLayers: Record<string, number>;
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
    quantize: o.model.quantizeOnLoad ?? null,
    doubleQuant: hasDoubleQuant(o.model),
    quantizedLayers: quantizedLayers(o.model),
    counts: o.counts,
    truncated: o.truncated,
  };
}

/** How many of the model's layers hold quantized weights, by format. */
export function quantizedLayers(model: CausalLM): Record<string, number> {
  const count: Record<string, number> = {};
  for (const [, m] of model.namedModules()) if (m instanceof QuantizedLinear) count[m.format] = (count[m.format] ?? 0) + 1;
  return count;
}

/** Whether any quantized layer holds double-quantized scales (--double-quant). */
export function hasDoubleQuant(model: CausalLM): boolean {
  for (const [, m] of model.namedModules()) if (m instanceof QuantizedLinear && m.weight.doubleQuant) return true;
  return false;
}

/** cfg as recorded: JSON-normalised (no undefined keys), with the run folder and the
 * data's files made absolute, each file of a comma list (`--data a.jsonl,b.txt`); a chat
 * template is a name or a file: kept as given. */
export function recordedConfig(cfg: RunConfig): RunConfig {
  const abs = (p: string | undefined): string | undefined => (p === undefined ? undefined : path.resolve(p));
  const absList = (p: string | undefined): string | undefined => (p === undefined ? undefined : absoluteDataFiles(p));
  const data = { ...cfg.data, data: absList(cfg.data.data), devData: absList(cfg.data.devData), dataDir: abs(cfg.data.dataDir) };
  return JSON.parse(JSON.stringify({ ...cfg, outDir: path.resolve(cfg.outDir), data })) as RunConfig;
}
