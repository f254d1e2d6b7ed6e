import * as fs from 'node:fs';
import { ColaError } from '../../errors.js';
import { formatBytes } from '../../io/memory.js';
import { linearModules } from '../../lora/inject.js';
import { checkpointSummary, checkpointTensorShapes, loadModel, type CheckpointSummary } from '../../models/load.js';
import { isLlama2cFile } from '../../io/llama2cPath.js';
import type { CausalLM } from '../../models/causalLM.js';
import { QuantizedLinear } from '../../nn/quantizedLinear.js';
import { countParameters } from '../../nn/module.js';
import { getBackend, type BackendName } from '../../backend/index.js';
import { RUN_FLAGS } from '../../cola/runFlags.js';
import { estimateTrainingMemory, modelShapeOf, type MemoryEstimate, type TrainingShape } from '../../models/memoryEstimate.js';
import { QUANT_FORMATS, type QuantFormat } from '../../backend/quant/format.js';
import { quantizedLoadBytes } from '../../models/quantize.js';
import type { Command } from '../command.js';
import { memoryLine } from './trainDryRun.js';
import { packsFrozenF32 } from '../../tensor/ops/packedWeight.js';
import type { OptionValues } from '../options.js';
import { checkDoubleQuant, maxMemoryOf, modelOptions } from '../setup.js';

/** First config key that holds a number: families name the same thing differently
 * (llama num_attention_heads, gpt2 n_head). */
function num(config: Record<string, unknown>, ...keys: string[]): number | null {
  for (const k of keys) if (typeof config[k] === 'number') return config[k] as number;
  return null;
}

/** Weights up to this size are loaded, which checks config.json against them and names
 * the linear modules exactly; larger folders are described from config.json and the
 * safetensors headers alone, so `cola info` on a 70B folder allocates no tensor. */
const LOAD_LIMIT_BYTES = 64 << 20;

interface LoraTargets {
  names: string[];
  allLinear: number;
}

export const infoCommand: Command = {
  name: 'info',
  summary: 'describe a model folder or .gguf file: architecture, parameters, dtypes and the LoRA target names',
  usage: 'cola info --model DIR|FILE.gguf [--json]',
  options: {
    ...modelOptions,
    json: { type: 'boolean', help: 'print one JSON object on stdout' },
  },
  run(v) {
    const dir = v['model'] as string | undefined;
    if (!dir) throw new ColaError('--model DIR is required (a Hugging Face model folder)');
    if (!fs.existsSync(dir)) throw new ColaError(`--model ${dir}: folder not found`);
    // No tokenizer needed: info works on bare checkpoints too.
    const s = checkpointSummary(dir);
    const c = s.config;
    const dtype = (v['dtype'] as 'f32' | 'bf16' | undefined) ?? (s.dtypes.includes('BF16') ? 'bf16' : 'f32');
    const bytes = s.loadedBytes[dtype];
    const loaded = bytes <= LOAD_LIMIT_BYTES ? loadedFacts(dir, v, dtype) : null;
    const targets = loaded?.targets ?? targetsFromHeaders(dir);
    const heads = num(c, 'num_attention_heads', 'n_head');
    const info = {
      model_type: s.modelType,
      layers: num(c, 'num_hidden_layers', 'n_layer'),
      hidden: num(c, 'hidden_size', 'n_embd'),
      heads,
      kv_heads: num(c, 'num_key_value_heads') ?? heads,
      vocab: num(c, 'vocab_size'),
      max_positions: num(c, 'max_position_embeddings', 'n_positions'),
      // Tied tensors (embedding = lm head) count once.
      parameters: loaded?.parameters ?? s.parameters,
      weight_dtype: dtype,
      checkpoint_dtype: s.dtypes.join(','),
      memory_bytes: bytes,
      // issue 17: what each --quantize choice needs, from the headers (nothing loaded)
      quantized_memory_bytes: quantizedMemory(dir, dtype, s),
      // a .gguf file: the linear weights that load as quantized codes, and what is dequantized
      ...(s.keptQuantized ? { kept_quantized: s.keptQuantized, dequantized: s.dequantized ?? [] } : {}),
      lora_targets: targets.names,
      all_linear_count: targets.allLinear,
      ...trainingEstimates(dir, dtype, {
        ...quantizeOf(v, dir, s),
        packedCopies: packsFrozenF32(getBackend(v['backend'] as BackendName | undefined)),
      }),
    };
    if (v['json']) {
      process.stdout.write(JSON.stringify(info) + '\n');
      return 0;
    }
    process.stdout.write(
      [
        `${dir}: ${info.model_type}, ${info.layers} layers, hidden ${info.hidden}, ${info.heads} heads (${info.kv_heads} kv), vocab ${info.vocab}, context ${info.max_positions}`,
        `parameters: ${info.parameters.toLocaleString('en-US')} (in memory ${info.weight_dtype}, ${formatBytes(bytes)}; checkpoint ${info.checkpoint_dtype})`,
        refusesQuantize(dir, s)
          ? 'with --quantize: refused (the file stores its linear weights quantized; they load as they are, exactly)'
          : `with --quantize: ${Object.entries(info.quantized_memory_bytes)
              .map(([f, b]) => `${f} ${formatBytes(b)}`)
              .join(', ')} (embeddings, norms and LM head stay ${info.weight_dtype})`,
        ...quantizedLines(s),
        `LoRA targets (--targets): ${info.lora_targets.join(', ')}; all-linear = ${info.all_linear_count} modules`,
        `training at cola train's defaults (LoRA r ${RUN_FLAGS.rank.default} on ${RUN_FLAGS.targets.default.join(', ')}, batch ${RUN_FLAGS.batchSize.default}, sequences of the full context ${info.max_positions}):`,
        `  ${memoryLine(info.training_memory, { batch: RUN_FLAGS.batchSize.default, seq: info.training_seq, dtype, quantize: (v['quantize'] as QuantFormat | undefined) ?? null, checkpointing: false })}`,
        `  with --gradient-checkpointing: ${formatBytes(info.training_memory_checkpointing.total)} (activations ${formatBytes(info.training_memory_checkpointing.activations)}); \`cola train --dry-run\` estimates your own settings`,
      ].join('\n') + '\n',
    );
    return 0;
  },
};

/** A llama2.c int8 file refuses every --quantize (models/loadLlama2c.ts): its linear
 * weights already load quantized as int8g. */
function refusesQuantize(dir: string, s: CheckpointSummary): boolean {
  return isLlama2cFile(dir) && Object.keys(s.keptQuantized ?? {}).length > 0;
}

/** A .gguf or llama2.c int8 file's quantized tensors: which stay quantized on load, which are dequantized. */
function quantizedLines(s: ReturnType<typeof checkpointSummary>): string[] {
  const lines = Object.entries(s.keptQuantized ?? {}).map(
    ([f, names]) =>
      `stays quantized on load (${f}, no --quantize needed): ${names.length} linear weights (${[...new Set(names.map((n) => n.split('.').slice(-3, -1).join('.')))].join(', ')})`,
  );
  for (const d of s.dequantized ?? []) lines.push(`dequantized on load: ${d.name} (${d.type}: ${d.why})`);
  return lines;
}

/** The peak-memory estimate of training at cola train's defaults (memoryEstimate.ts),
 * without and with gradient checkpointing: the same function as `cola train --dry-run`. */
function trainingEstimates(
  dir: string,
  dtype: 'f32' | 'bf16',
  held: Pick<TrainingShape, 'quantize' | 'doubleQuant' | 'packedCopies'>,
): { training_seq: number; training_memory: MemoryEstimate; training_memory_checkpointing: MemoryEstimate } {
  const shape = modelShapeOf(dir);
  const at = (gradientCheckpointing: boolean): MemoryEstimate =>
    estimateTrainingMemory(shape, {
      method: 'cola',
      dtype,
      batch: RUN_FLAGS.batchSize.default,
      seq: shape.context,
      rank: RUN_FLAGS.rank.default,
      links: 3,
      targets: [...RUN_FLAGS.targets.default],
      gradientCheckpointing,
      ...held,
    });
  return { training_seq: shape.context, training_memory: at(false), training_memory_checkpointing: at(true) };
}

/** --quantize and --double-quant for the training estimate, refused as loading would
 * refuse them (modelOptions gives info both flags; the estimate was their only reader). */
function quantizeOf(v: OptionValues, dir: string, s: CheckpointSummary): Pick<TrainingShape, 'quantize' | 'doubleQuant'> {
  const quantize = v['quantize'] as QuantFormat | undefined;
  if (v['double-quant']) checkDoubleQuant(quantize);
  if (!quantize) return {};
  if (refusesQuantize(dir, s))
    throw new ColaError(
      `--quantize ${quantize}: ${dir} stores its linear weights quantized already (they load as they are): drop --quantize`,
    );
  return { quantize, doubleQuant: v['double-quant'] === true };
}

/** Parameter count and linear modules of the loaded model (small folders only). */
function loadedFacts(dir: string, v: OptionValues, dtype: 'f32' | 'bf16'): { parameters: number; targets: LoraTargets } {
  const model = loadModel(dir, {
    backend: getBackend(v['backend'] as BackendName | undefined),
    dtype,
    maxMemory: maxMemoryOf(v),
    warn: () => {}, // the lines above already say what loads quantized
  });
  const head = model.lmHeadWeight();
  // all-linear leaves the output layer out, as PEFT does.
  const allLinear = linearModules(model).filter(([p, l]) => p !== 'lm_head' && l.weight !== head);
  return {
    // quantized layers (a Q8_0 GGUF, a llama2.c int8 file) hold their weights as codes, not parameters
    parameters: countParameters(new Set(model.parameters())) + quantizedElements(model),
    targets: { names: [...new Set(allLinear.map(([p]) => p.split('.').pop()!))], allLinear: allLinear.length },
  };
}

/** Weights held as quantized codes (QuantizedLinear), which model.parameters() leaves out. */
function quantizedElements(model: CausalLM): number {
  let n = 0;
  for (const [, m] of model.namedModules()) if (m instanceof QuantizedLinear) n += m.inFeatures * m.outFeatures;
  return n;
}

/** The weights' memory under each --quantize format, from the headers. */
function quantizedMemory(dir: string, dtype: 'f32' | 'bf16', s: CheckpointSummary): Partial<Record<QuantFormat, number>> {
  if (refusesQuantize(dir, s)) return {};
  // a .gguf or llama2.c file's tensors carry the Hugging Face names and shapes
  const tensors = checkpointTensorShapes(dir);
  return Object.fromEntries(QUANT_FORMATS.map((f) => [f, quantizedLoadBytes(tensors, dtype === 'bf16' ? 2 : 4, f)])) as Record<
    QuantFormat,
    number
  >;
}

/** The linear modules of a large folder from its tensor names: the 2-D `.weight` tensors
 * inside numbered blocks (`model.layers.3.self_attn.q_proj.weight` -> q_proj); embeddings
 * and the output layer sit outside the blocks. */
function targetsFromHeaders(dir: string): LoraTargets {
  const shapes: [string, readonly number[]][] = [...checkpointTensorShapes(dir)].map(([n, t]) => [n, t.shape]);
  const matrices = shapes.filter(([, shape]) => shape.length === 2).map(([n]) => n);
  const inBlocks = matrices.filter((n) => /\.\d+\./.test(n) && n.endsWith('.weight'));
  const names = inBlocks.map((n) => n.split('.').at(-2)!);
  return { names: [...new Set(names)], allLinear: inBlocks.length };
}
