import * as fs from 'node:fs';
import { ColaError } from '../../errors.js';
import { openSafetensors } from '../../io/safetensors.js';
import { linearModules } from '../../lora/inject.js';
import { loadModel } from '../../models/load.js';
import { countParameters } from '../../nn/module.js';
import { getBackend, type BackendName } from '../../backend/index.js';
import type { Command } from '../command.js';
import { modelOptions } from '../setup.js';

/** First config key that holds a number: families name the same thing differently
 * (llama num_attention_heads, gpt2 n_head). */
function num(config: Record<string, unknown>, ...keys: string[]): number | null {
  for (const k of keys) if (typeof config[k] === 'number') return config[k] as number;
  return null;
}

export const infoCommand: Command = {
  name: 'info',
  summary: 'describe a model folder: architecture, parameters, dtypes and the LoRA target names',
  usage: 'cola info --model DIR [--json]',
  options: {
    ...modelOptions,
    json: { type: 'boolean', help: 'print one JSON object on stdout' },
  },
  run(v) {
    const dir = v['model'] as string | undefined;
    if (!dir) throw new ColaError('--model DIR is required (a Hugging Face model folder)');
    if (!fs.existsSync(dir)) throw new ColaError(`--model ${dir}: folder not found`);
    // No tokenizer needed: info works on bare checkpoints too.
    const model = loadModel(dir, {
      backend: getBackend(v['backend'] as BackendName | undefined),
      dtype: v['dtype'] as 'f32' | 'bf16' | undefined,
    });
    const c = model.config;
    const heads = num(c, 'num_attention_heads', 'n_head');
    const checkpointDtypes = [...new Set([...openSafetensors(dir).tensors.values()].map((t) => t.dtype))].sort();
    const linears = linearModules(model);
    const head = model.lmHeadWeight();
    // all-linear leaves the output layer out, as PEFT does.
    const allLinear = linears.filter(([p, l]) => p !== 'lm_head' && l.weight !== head);
    const info = {
      model_type: model.dims.modelType,
      layers: model.dims.numLayers,
      hidden: model.dims.hiddenSize,
      heads,
      kv_heads: num(c, 'num_key_value_heads') ?? heads,
      vocab: model.dims.vocabSize,
      max_positions: model.dims.maxPositions,
      // Tied tensors (embedding = lm head) count once.
      parameters: countParameters(new Set(model.parameters())),
      weight_dtype: model.weightDtype,
      checkpoint_dtype: checkpointDtypes.join(','),
      lora_targets: [...new Set(allLinear.map(([p]) => p.split('.').pop()!))],
      all_linear_count: allLinear.length,
    };
    if (v['json']) {
      process.stdout.write(JSON.stringify(info) + '\n');
      return 0;
    }
    process.stdout.write(
      [
        `${dir}: ${info.model_type}, ${info.layers} layers, hidden ${info.hidden}, ${info.heads} heads (${info.kv_heads} kv), vocab ${info.vocab}, context ${info.max_positions}`,
        `parameters: ${info.parameters.toLocaleString('en-US')} (in memory ${info.weight_dtype}; checkpoint ${info.checkpoint_dtype})`,
        `LoRA targets (--targets): ${info.lora_targets.join(', ')}; all-linear = ${info.all_linear_count} modules`,
      ].join('\n') + '\n',
    );
    return 0;
  },
};
