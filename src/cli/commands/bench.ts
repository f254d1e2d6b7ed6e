import { QUANT_FORMATS, type QuantFormat } from '../../backend/quant/format.js';
import type { ModelShape } from '../../bench/trainStep.js';
import { ColaError } from '../../errors.js';
import type { Command } from '../command.js';
import type { OptionValues } from '../options.js';
import { DEFAULT_RANK_TIMEOUT_S, launchedByMpirun, mpiWorld } from '../../backend/mpi.js';

const SHAPE_FLAGS = ['d', 'layers', 'heads', 'ffn', 'vocab'] as const;
type ShapeFlag = (typeof SHAPE_FLAGS)[number];

export const benchCommand: Command = {
  name: 'bench',
  summary: 'benchmarks (not tests): matmul GFLOP/s; LoRA train-step tokens/s against the PyTorch peer',
  usage:
    'cola bench matmul [--json] [--repeats N]\n       cola bench train-step [--preset opt-125m|opt-1.3b|llama2-7b] [--dtype f32|bf16] [--quantize FORMAT] [--json] [--profile] [shape flags]',
  options: {
    json: { type: 'boolean', help: 'matmul: one JSON object per line; train-step: one JSON object (tokens_per_s, peak_rss_mib, ...)' },
    repeats: { type: 'int', default: 7, help: 'matmul: timed repetitions per shape (median reported)' },
    preset: {
      type: 'string',
      default: 'opt-125m',
      choices: ['opt-125m', 'opt-1.3b', 'llama2-7b'],
      help: "train-step: model shape (the peer script's OPT presets; llama2-7b: Llama-2-7B's shape)",
    },
    d: { type: 'int', help: 'train-step: hidden size (overrides the preset)' },
    layers: { type: 'int', help: 'train-step: decoder layers (overrides the preset)' },
    heads: { type: 'int', help: 'train-step: attention heads (overrides the preset)' },
    ffn: { type: 'int', help: 'train-step: MLP width (overrides the preset)' },
    vocab: { type: 'int', help: 'train-step: vocabulary size (overrides the preset)' },
    dtype: {
      type: 'string',
      default: 'bf16',
      choices: ['f32', 'bf16'],
      help: 'train-step: frozen weights and matmuls in f32 or bf16 (LoRA, grads, AdamW stay f32)',
    },
    batch: { type: 'int', default: 8, help: 'train-step: sequences per step' },
    seq: { type: 'int', default: 256, help: 'train-step: tokens per sequence' },
    rank: { type: 'int', default: 8, help: 'train-step: LoRA rank (alpha = 2 * rank, as the peer)' },
    targets: {
      type: 'list',
      default: ['q_proj', 'v_proj'],
      help: 'train-step: LoRA target module names, or "all" (q,k,v,out_proj,fc1,fc2)',
    },
    steps: { type: 'int', default: 5, help: 'train-step: timed steps (median reported)' },
    warmup: { type: 'int', default: 2, help: 'train-step: untimed steps first' },
    profile: { type: 'boolean', help: 'train-step: time every backend primitive and print a table per step' },
    checkpoint: { type: 'boolean', help: 'train-step: activation checkpointing (recompute each layer in backward; for opt-1.3b)' },
    quantize: {
      type: 'string',
      choices: [...QUANT_FORMATS],
      help: 'train-step: quantize the frozen linear weights (issue 17; embeddings and LM head stay --dtype)',
    },
    'double-quant': { type: 'boolean', help: "train-step: with --quantize nf4, QLoRA's double quantization of the block scales" },
  },
  async run(v, pos) {
    const json = (v['json'] as boolean | undefined) ?? false;
    if (pos[0] === 'matmul') {
      const { benchMatmul } = await import('../../bench/matmul.js');
      await benchMatmul({ json, repeats: v['repeats'] as number });
      return 0;
    }
    if (pos[0] === 'train-step') {
      const { PRESETS, benchTrainStep, formatTrainStep } = await import('../../bench/trainStep.js');
      // under mpirun: data parallel over the ranks, rank 0 prints (issue 19)
      const comm = launchedByMpirun() ? mpiWorld() : null;
      comm?.setTimeout(DEFAULT_RANK_TIMEOUT_S); // the collectives `cola train` runs: watched
      const r = benchTrainStep({ ...trainStepOptions(v, PRESETS[v['preset'] as string]!), comm });
      if ((comm?.rank ?? 0) === 0) console.log(json ? JSON.stringify(r) : formatTrainStep(r));
      comm?.finalize();
      return 0;
    }
    throw new ColaError(`unknown benchmark "${pos[0] ?? ''}"; available: matmul, train-step`);
  },
};

/** The preset's shape with any shape flag given on top; every size checked. */
function trainStepOptions(v: OptionValues, preset: ModelShape) {
  const { family, ...dims } = preset;
  const shape: Record<ShapeFlag, number> = { ...dims };
  for (const f of SHAPE_FLAGS) if (v[f] !== undefined) shape[f] = v[f] as number;
  const sizes = { ...shape, batch: v['batch'] as number, seq: v['seq'] as number, rank: v['rank'] as number, steps: v['steps'] as number };
  const bad = Object.entries(sizes).filter(([, n]) => !(n >= 1));
  if (bad.length) throw new ColaError(`cola bench train-step: ${bad.map(([k, n]) => `--${k} must be >= 1, got ${n}`).join('; ')}`);
  if (shape.d % shape.heads !== 0)
    throw new ColaError(`cola bench train-step: --d (${shape.d}) must be a multiple of --heads (${shape.heads})`);
  const hasShapeFlag = SHAPE_FLAGS.some((f) => v[f] !== undefined);
  return {
    ...sizes,
    family,
    preset: hasShapeFlag ? null : (v['preset'] as string),
    dtype: v['dtype'] as 'f32' | 'bf16',
    targets: v['targets'] as string[],
    warmup: v['warmup'] as number,
    profile: (v['profile'] as boolean | undefined) ?? false,
    checkpoint: (v['checkpoint'] as boolean | undefined) ?? false,
    quantize: v['quantize'] as QuantFormat | undefined,
    doubleQuant: (v['double-quant'] as boolean | undefined) ?? false,
  };
}
