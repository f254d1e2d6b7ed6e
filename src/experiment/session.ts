/** What the cells of one experiment share: the tokenizer, the effective max length,
 * and each task's prepared data (per data seed), built once and only when a cell
 * actually has to train. The model itself is loaded fresh per cell: training merges
 * adapters into its weights. */
import type { OptionValues } from '../cli/options.js';
import { loadModelAndTokenizer, type LoadedModel } from '../cli/setup.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import type { PrepareContext, PreparedData } from '../train/prepare.js';
import { prepareTaskData, type TaskRef } from './data.js';

export class Session {
  private base: { tokenizer: TextTokenizer; maxLength: number; model: PrepareContext } | null = null;
  private readonly cache = new Map<string, PreparedData>();

  constructor(private readonly values: OptionValues) {}

  /** Never longer than the model's context (RoPE tables / position embeddings), as in `cola train`. */
  private shared(): { tokenizer: TextTokenizer; maxLength: number; model: PrepareContext } {
    if (!this.base) {
      const { model, tokenizer } = loadModelAndTokenizer(this.values);
      const context = { contextLength: model.dims.maxPositions, modelType: model.dims.modelType };
      this.base = { tokenizer, maxLength: Math.min(this.values['max-length'] as number, model.dims.maxPositions), model: context };
    }
    return this.base;
  }

  data(ref: TaskRef, dataSeed: number): PreparedData {
    // A corpus split does not depend on the seed; the paper's tasks sample with it.
    const key = ref.corpus ? ref.name : `${ref.name}#${dataSeed}`;
    let d = this.cache.get(key);
    if (!d) {
      const { tokenizer, maxLength, model } = this.shared();
      d = prepareTaskData(ref, this.values, dataSeed, tokenizer, maxLength, model);
      this.cache.set(key, d);
    }
    return d;
  }

  /** A fresh model; full fine-tuning trains every weight and needs them in f32. */
  model(full: boolean): LoadedModel {
    return loadModelAndTokenizer(full ? { ...this.values, dtype: 'f32' } : this.values);
  }
}
