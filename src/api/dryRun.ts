/** `cola train --dry-run` (issue 16, part 8): the effective config, the chain plan and a
 * peak-memory estimate, from the model folder's config.json, headers and tokenizer and
 * the data, without reading a weight or writing a file. */
import { planRun, type RunPlan } from '../cola/plan.js';
import type { RunConfig } from '../cola/runConfig.js';
import { withChatTemplate } from '../data/chatTemplates.js';
import type { TextTokenizer } from '../data/tokenizer.js';
import { ColaError } from '../errors.js';
import type { QuantFormat } from '../backend/quant/format.js';
import { isLoftqInit } from '../lora/config.js';
import { estimateTrainingMemory, modelShapeOf, type MemoryEstimate } from '../models/memoryEstimate.js';
import { prepareData } from '../train/prepare.js';

export interface DryRun {
  config: RunConfig;
  plan: RunPlan;
  counts: { train: number; dev: number; test: number };
  /** the longest training sequence, in tokens: it sets the peak */
  seq: number;
  dtype: 'f32' | 'bf16';
  /** --quantize's format of the block linear weights, or null (dense) */
  quantize: QuantFormat | null;
  memory: MemoryEstimate;
}

export interface DryRunOptions {
  modelDir: string;
  tokenizer: TextTokenizer;
  dtype?: 'f32' | 'bf16';
  quantize?: QuantFormat;
  doubleQuant?: boolean;
  /** the backend keeps packed copies of frozen f32 weights (tensor/ops/packedWeight.ts packsFrozenF32) */
  packedCopies: boolean;
}

export function dryRun(cfg: RunConfig, o: DryRunOptions): DryRun {
  const shape = modelShapeOf(o.modelDir);
  const data = prepareData(cfg.data, withChatTemplate(o.tokenizer, cfg.data.chatTemplate), {
    contextLength: shape.context,
    modelType: shape.modelType,
  });
  if (data.counts.train === 0) throw new ColaError(`${cfg.data.data ?? cfg.data.task}: no training examples; nothing to train on`);
  const plan = planRun(cfg, Math.ceil(data.train.size / cfg.budget.batchSize));
  const seq = data.train.lengths().reduce((a, b) => Math.max(a, b), 0);
  const dtype = cfg.method === 'full' ? 'f32' : (o.dtype ?? shape.storedDtype);
  // a base loaded dense first: LoftQ's init takes the dense weights, GPTQ calibrates on them
  const denseLoad = isLoftqInit(cfg.lora.init) ? 'loftq' : cfg.quantizeCalibration !== undefined ? 'gptq' : undefined;
  const memory = estimateTrainingMemory(shape, {
    method: cfg.method,
    dtype,
    batch: cfg.budget.batchSize,
    seq,
    rank: Math.max(...plan.links.map((l) => l.rank)),
    links: plan.links.length,
    targets: cfg.lora.targets,
    targetRegex: cfg.lora.targetRegex,
    gradientCheckpointing: cfg.gradientCheckpointing,
    ...(o.quantize ? { quantize: o.quantize, doubleQuant: o.doubleQuant ?? false } : {}),
    ...(denseLoad ? { denseLoad } : {}),
    packedCopies: o.packedCopies,
  });
  return { config: cfg, plan, counts: data.counts, seq, dtype, quantize: o.quantize ?? null, memory };
}
