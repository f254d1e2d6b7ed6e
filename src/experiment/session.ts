/** What the cells of one experiment share: the tokenizer, the effective max length,
 * and each task's prepared data (per data seed), built once and only when a cell
 * actually has to train. The model itself is loaded fresh per cell: training merges
 * adapters into its weights. */
import type { BackendName } from '../backend/index.js';
import type { QuantFormat } from '../backend/quant/format.js';
import { loadPretrained, type Pretrained } from '../api/load.js';
import { quantizeCalibrated } from '../api/calibratedBase.js';
import { isLoftqInit, type LoraInit } from '../lora/config.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import type { PrepareContext, PreparedData } from '../train/prepare.js';
import { prepareTaskData, type TaskRef } from './data.js';
import type { ExperimentConfig } from './flags.js';

export class Session {
  private base: { tokenizer: TextTokenizer; maxLength: number; model: PrepareContext } | null = null;
  private readonly cache = new Map<string, PreparedData>();

  constructor(private readonly cfg: ExperimentConfig) {}

  /** The effective max length: --max-length, else the model's context (MeZO), never
   * longer than the context (RoPE tables / position embeddings), as in `cola train`. */
  maxLength(): number {
    return this.shared().maxLength;
  }

  private shared(): { tokenizer: TextTokenizer; maxLength: number; model: PrepareContext } {
    if (!this.base) {
      const { model, tokenizer } = this.model(false);
      const context = model.dims.maxPositions;
      const asked = this.cfg.data.maxLength;
      if (asked !== undefined && asked > context)
        process.stderr.write(`cola experiment: --max-length ${asked} is longer than the model's context (${context}); using ${context}\n`);
      this.base = {
        tokenizer,
        maxLength: Math.min(asked ?? context, context),
        model: { contextLength: context, modelType: model.dims.modelType },
      };
    }
    return this.base;
  }

  data(ref: TaskRef, dataSeed: number): PreparedData {
    // A corpus split does not depend on the seed; the paper's tasks sample with it.
    const key = ref.corpus ? ref.name : `${ref.name}#${dataSeed}`;
    let d = this.cache.get(key);
    if (!d) {
      const { tokenizer, maxLength, model } = this.shared();
      d = prepareTaskData(ref, this.cfg, dataSeed, tokenizer, maxLength, model);
      this.cache.set(key, d);
    }
    return d;
  }

  /** A fresh model; full fine-tuning trains every weight and needs them in f32. With
   * --quantize-calibration the base's codes are GPTQ's on `data`'s first training
   * examples (api/calibratedBase.ts); without `data` it then stays dense (for the
   * tokenizer and the model's dimensions only). */
  model(full: boolean, data?: PreparedData): Pretrained {
    const { model, backend, dtype, quantize, doubleQuant } = this.cfg.exp;
    const calibration = full ? undefined : this.cfg.run.quantizeCalibration;
    const p = loadPretrained(model!, {
      backend: backend as BackendName | undefined,
      dtype: full ? 'f32' : (dtype as 'f32' | 'bf16' | undefined),
      quantize: full || calibration !== undefined ? undefined : (quantize as QuantFormat | undefined),
      doubleQuant: full || calibration !== undefined ? undefined : doubleQuant,
      keepDense: !full && isLoftqInit(this.cfg.run.loraInit as LoraInit), // LoftQ re-chooses the codes from them
    });
    if (calibration !== undefined && data)
      quantizeCalibrated(p.model, data.train, { format: quantize as QuantFormat, examples: calibration, doubleQuant });
    return p;
  }
}
