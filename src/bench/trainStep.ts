// Throughput of one LoRA training step on a randomly initialised OPT-shaped model,
// the same measurement as the PyTorch peer (../shared/bench/torch_lora_bench.py):
// frozen random weights, LoRA (r, alpha = 2r) on the targets, AdamW (lr 1e-4, no
// weight decay) on the LoRA factors only, a fixed batch of random tokens; one timed
// step = zero grads + forward + cross-entropy + backward + AdamW step, median over
// `steps` steps after `warmup` untimed ones; tokens/s = batch * seq / median.
//
//   node bin/cola.js bench train-step --preset opt-125m --dtype bf16 [--json] [--profile]
//
// Under `mpirun -np N` (issue 19) the batch is the global one: each rank runs its rows
// (data/batching.ts rankSlice), the LoRA gradients are all-reduced as `cola train` does
// (train/distributed.ts), and the all-reduce is timed on its own (allreduce_s_median).

import { availableParallelism } from 'node:os';
import { ColaError } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import type { QuantFormat } from '../backend/quant/format.js';
import { getBackend, type BackendName } from '../backend/index.js';
import { detectMachine, type Bf16Products } from '../backend/machine.js';
import { applyLora } from '../lora/inject.js';
import { DEFAULT_LORA_CONFIG } from '../lora/config.js';
import type { CausalLM } from '../models/causalLM.js';
import { doubleQuantizeModel } from '../models/quantize.js';
import { modelFamily } from '../models/registry.js';
import '../models/families.js';
import { AdamW } from '../optim/adamw.js';
import { tensor } from '../tensor/ops/creation.js';
import { mulberry32 } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { BenchWeights } from './benchWeights.js';
import type { Communicator } from '../backend/mpi.js';
import { rankSlice } from '../data/batching.js';
import { scale } from '../tensor/ops/elementwise.js';
import { allreduceGradients } from '../train/distributed.js';
import { profileBackend, type ProfileRow } from './profileBackend.js';
import { countFlops } from './flopCounter.js';
import { linearRate } from './matmul.js';
import { estimateTrainingMemory, mlpKept, type ModelShape as EstimateShape } from '../models/memoryEstimate.js';
import { Linear } from '../nn/linear.js';
import { QuantizedLinear } from '../nn/quantizedLinear.js';
import { packsFrozenF32 } from '../tensor/ops/packedWeight.js';

export interface ModelShape {
  /** OPT (ReLU MLP, learned positions, tied head) or Llama (SwiGLU, RoPE, untied head) */
  family: 'opt' | 'llama';
  d: number;
  layers: number;
  heads: number;
  ffn: number;
  vocab: number;
}

/** The peer's presets (OPT shapes), and Llama-2-7B's shape for the quantized-base
 * memory targets (issue 17). */
export const PRESETS: Record<string, ModelShape> = {
  'opt-125m': { family: 'opt', d: 768, layers: 12, heads: 12, ffn: 3072, vocab: 50272 },
  'opt-1.3b': { family: 'opt', d: 2048, layers: 24, heads: 32, ffn: 8192, vocab: 50272 },
  'llama2-7b': { family: 'llama', d: 4096, layers: 32, heads: 32, ffn: 11008, vocab: 32000 },
};

/** The peer's --targets all: every block linear. */
const ALL_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'out_proj', 'fc1', 'fc2'];

interface TrainStepOptions extends ModelShape {
  preset: string | null;
  dtype: 'f32' | 'bf16';
  batch: number;
  seq: number;
  rank: number;
  targets: string[];
  steps: number;
  warmup: number;
  backend?: BackendName;
  /** time every backend primitive and print where the step goes */
  profile: boolean;
  /** recompute each layer's activations in backward (activation checkpointing) */
  checkpoint?: boolean;
  /** quantize the frozen linear weights as they are made (issue 17) */
  quantize?: QuantFormat;
  /** nf4: double-quantize the block scales (QLoRA) once the model is built */
  doubleQuant?: boolean;
  /** the ranks of an mpirun job: data parallel over the batch */
  comm?: Communicator | null;
}

interface TrainStepResult {
  preset: string | null;
  backend: string;
  dtype: string;
  quantize: string | null;
  double_quant: boolean;
  d: number;
  layers: number;
  heads: number;
  ffn: number;
  vocab: number;
  batch: number;
  seq: number;
  rank: number;
  targets: string[];
  params_lora: number;
  step_s_median: number;
  step_s_all: number[];
  /** the process's CPU time per timed step (all threads, user + system; mean) */
  step_cpu_s_mean: number;
  /** step_cpu_s_mean / the mean step time: how many cores the step kept busy */
  cores_busy: number;
  fwd_s_median: number;
  bwd_s_median: number;
  tokens_per_s: number;
  peak_rss_mib: number;
  loss_first: number;
  loss_last: number;
  threads: number;
  checkpoint: boolean;
  /** data-parallel ranks (1: one process); the all-reduce of the LoRA gradients per step */
  ranks: number;
  allreduce_s_median: number;
  allreduce_share: number;
  /** useful work of one step (bench/flopCounter.ts: products and visible attention pairs) */
  step_flops: number;
  /** step_flops / step_s_median / 1e9 */
  gflops_effective: number;
  /** this machine's rate at the step's largest linear product ([tokens, d] x [d, ffn], the
   * weights' dtype and compute path): the fastest of 7 products before and 7 after the
   * steps; null off the native backend and with --quantize */
  matmul_gflops: number | null;
  /** that product, M x K x N */
  matmul_shape: string | null;
  /** gflops_effective / matmul_gflops: how close the step runs to the machine's products */
  matmul_share: number | null;
  /** what `cola train --dry-run` would estimate for this step's model and batch
   * (models/memoryEstimate.ts; the runtime not counted), beside the measured peak */
  memory_estimate_mib: number;
  profile?: ProfileRow[];
}

/** An OPT config.json of the given shape. */
export function optConfig(o: ModelShape, maxPositions: number): Record<string, unknown> {
  return {
    model_type: 'opt',
    vocab_size: o.vocab,
    hidden_size: o.d,
    word_embed_proj_dim: o.d,
    ffn_dim: o.ffn,
    num_hidden_layers: o.layers,
    num_attention_heads: o.heads,
    max_position_embeddings: maxPositions,
    activation_function: 'relu',
    do_layer_norm_before: true,
    enable_bias: true,
  };
}

/** A Llama config.json of the given shape (multi-head attention, as Llama-2-7B). */
export function llamaConfig(o: ModelShape, maxPositions: number): Record<string, unknown> {
  return {
    model_type: 'llama',
    vocab_size: o.vocab,
    hidden_size: o.d,
    intermediate_size: o.ffn,
    num_hidden_layers: o.layers,
    num_attention_heads: o.heads,
    num_key_value_heads: o.heads,
    max_position_embeddings: maxPositions,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: false,
  };
}

function buildModel(o: TrainStepOptions, be: Backend): CausalLM {
  const config = o.family === 'llama' ? llamaConfig(o, o.seq) : optConfig(o, o.seq);
  const weights = new BenchWeights(be, 1, o.dtype, o.quantize);
  const model = modelFamily(o.family, 'bench').build(config, weights, 'bench');
  weights.releaseScratch(model);
  model.weightDtype = o.dtype;
  return model;
}

/** The dry run's estimate for the bench's model (built, so its shape is read from its
 * modules, as modelShapeOf reads a folder's headers). Before LoRA is applied. */
function memoryEstimateOf(o: TrainStepOptions, model: CausalLM, be: Backend): number {
  const matrices: EstimateShape['matrices'] = [];
  for (const [path, m] of model.namedModules())
    if ((m instanceof Linear || m instanceof QuantizedLinear) && /\.\d+\./.test(path) && m.weight !== model.lmHeadWeight())
      matrices.push({ path, rows: m.outFeatures, cols: m.inFeatures });
  // quantized layers hold their weights as codes, which model.parameters() leaves out
  const codes = o.quantize ? matrices.reduce((s, x) => s + x.rows * x.cols, 0) : 0;
  const parameters = [...new Set(model.parameters())].reduce((s, p) => s + p.size, 0) + codes;
  const shape: EstimateShape = {
    modelType: o.family,
    layers: o.layers,
    hidden: o.d,
    heads: o.heads,
    kvHeads: o.heads,
    intermediate: o.ffn,
    vocab: o.vocab,
    context: o.seq,
    parameters,
    storedDtype: o.dtype,
    weightBytes: { f32: 4 * parameters, bf16: 2 * parameters },
    matrices,
    logitSoftcap: false,
    mlpKept: mlpKept(o.family, { activation_function: 'relu' }), // optConfig's ReLU
  };
  const e = estimateTrainingMemory(shape, {
    method: 'lora',
    dtype: o.dtype,
    batch: o.batch,
    seq: o.seq,
    rank: o.rank,
    links: 1,
    targets: expandTargets(o.targets),
    gradientCheckpointing: o.checkpoint ?? false,
    ...(o.quantize ? { quantize: o.quantize, doubleQuant: o.doubleQuant ?? false } : {}),
    packedCopies: packsFrozenF32(be),
  });
  return e.total / 2 ** 20;
}

function randomIds(be: Backend, n: number, vocab: number, seed: number, shape: number[]): Tensor {
  const rng = mulberry32(seed);
  return tensor(
    be,
    Int32Array.from({ length: n }, () => Math.floor(rng() * vocab)),
    shape,
    'i32',
  );
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

function expandTargets(targets: readonly string[]): string[] {
  return targets.length === 1 && targets[0] === 'all' ? ALL_TARGETS : [...targets];
}

/** How a backend runs bf16 products, for the profile's labels. */
function bf16ProductsOfBackend(name: string): Bf16Products | null {
  if (name === 'reference') return 'f32-on-rounded'; // reference/matmul.ts rounds the operands
  return name === 'native' ? detectMachine().bf16Products : null;
}

/** Build, warm up, time. Returns the peer's JSON fields (same names). */
export function benchTrainStep(o: TrainStepOptions): TrainStepResult {
  const base = getBackend(o.backend);
  const prof = o.profile ? profileBackend(base, { bf16Products: bf16ProductsOfBackend(base.name) }) : null;
  const counter = countFlops(prof ? prof.backend : base);
  const be = counter.backend;
  const tokens = o.batch * o.seq;
  const comm = o.comm ?? null;
  // this rank's rows of the global batch (all of it in one process)
  const rows = rankSlice(
    Array.from({ length: o.batch }, (_, i) => i),
    comm?.rank ?? 0,
    comm?.size ?? 1,
  );
  if (rows.length === 0)
    throw new ColaError(`cola bench train-step: --batch ${o.batch} leaves rank ${comm?.rank} no row; use --batch >= the ranks`);
  const localTokens = rows.length * o.seq;
  // the machine's linear-product rate (null off the native backend and with --quantize),
  // first before the model exists, so its buffers never add to the step's peak memory
  const probeRate = () => linearRate(base, o.dtype, localTokens, o.d, o.ffn, 7);
  const probe = base.name === 'native' && !o.quantize ? probeRate() : null;
  const model = buildModel(o, be);
  if (o.doubleQuant) doubleQuantizeModel(model); // refuses a model without nf4 layers
  if (o.checkpoint) (model as CausalLM & { gradientCheckpointing: boolean }).gradientCheckpointing = true;
  const estimate = memoryEstimateOf(o, model, base);
  const targets = expandTargets(o.targets);
  const lora = applyLora(model, { ...DEFAULT_LORA_CONFIG, r: o.rank, alpha: 2 * o.rank, targets }, 0);
  const params = lora.flatMap((l) => [l.lora_A, l.lora_B]);
  const opt = new AdamW(params, { lr: 1e-4, weightDecay: 0 });
  const rowsOf = (t: Tensor, shape: number[]): Tensor =>
    tensor(be, t.i32.slice(rows[0]! * o.seq, (rows.at(-1)! + 1) * o.seq), shape, 'i32');
  const ids = rowsOf(randomIds(be, tokens, o.vocab, 11, [o.batch, o.seq]), [rows.length, o.seq]);
  const targetsIds = rowsOf(randomIds(be, tokens, o.vocab, 12, [tokens]), [localTokens]);
  const times: number[] = [];
  const reduce: number[] = [];
  const fwd: number[] = [];
  const bwd: number[] = [];
  const losses: number[] = [];
  let cpu0 = process.cpuUsage();
  for (let i = 0; i < o.warmup + o.steps; i++) {
    if (i === o.warmup) {
      prof?.reset();
      counter.reset();
      cpu0 = process.cpuUsage();
    }
    const t0 = performance.now();
    opt.zeroGrad();
    const loss = model.loss(ids, targetsIds);
    const t1 = performance.now();
    // every token is a target: this rank's share of the global mean is its share of the tokens
    (comm ? scale(loss, localTokens / tokens) : loss).backward();
    // a barrier first, so the all-reduce time is its own cost, not the wait for a slower rank
    comm?.barrier();
    const t2 = performance.now();
    if (comm) allreduceGradients(comm, params);
    const t3 = performance.now();
    opt.step(1e-4);
    const t4 = performance.now();
    losses.push(loss.item());
    if (i >= o.warmup) {
      times.push((t4 - t0) / 1e3);
      fwd.push((t1 - t0) / 1e3);
      bwd.push((t2 - t1) / 1e3); // (with ranks: includes the wait at the barrier)
      reduce.push((t3 - t2) / 1e3);
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const stepCpu = (cpu.user + cpu.system) / 1e6 / o.steps;
  const step = median(times);
  const stepFlops = counter.flops() / o.steps;
  const peakRss = process.resourceUsage().maxRSS; // before the second probe
  // probed before and after the timed steps (7 products each), the faster taken
  const rate = probe === null ? null : Math.max(probe, probeRate());
  const result: TrainStepResult = {
    preset: o.preset,
    backend: base.name,
    dtype: o.dtype,
    quantize: o.quantize ?? null,
    double_quant: o.doubleQuant ?? false,
    d: o.d,
    layers: o.layers,
    heads: o.heads,
    ffn: o.ffn,
    vocab: o.vocab,
    batch: o.batch,
    seq: o.seq,
    rank: o.rank,
    targets,
    checkpoint: o.checkpoint ?? false,
    ranks: comm?.size ?? 1,
    allreduce_s_median: round(median(reduce), 5),
    allreduce_share: round(median(reduce) / step, 4),
    step_flops: stepFlops,
    gflops_effective: round(stepFlops / step / 1e9, 1),
    matmul_gflops: rate === null ? null : round(rate, 1),
    matmul_shape: rate === null ? null : `${localTokens}x${o.d}x${o.ffn}`,
    matmul_share: rate === null ? null : round(stepFlops / step / 1e9 / rate, 3),
    memory_estimate_mib: round(estimate, 1),
    params_lora: params.reduce((s, p) => s + p.size, 0),
    step_s_median: round(step, 3),
    step_s_all: times.map((t) => round(t, 3)),
    step_cpu_s_mean: round(stepCpu, 3),
    cores_busy: round(stepCpu / (times.reduce((a, b) => a + b, 0) / times.length), 2),
    fwd_s_median: round(median(fwd), 3),
    bwd_s_median: round(median(bwd), 3),
    tokens_per_s: round(tokens / step, 1),
    peak_rss_mib: round(peakRss / 1024, 1),
    loss_first: round(losses[0]!, 4),
    loss_last: round(losses[losses.length - 1]!, 4),
    threads: Number(process.env.OMP_NUM_THREADS) || availableParallelism(), // OpenMP's default
  };
  if (prof)
    result.profile = prof
      .rows()
      .map((r) => ({ name: r.name, calls: r.calls / o.steps, ms: round(r.ms / o.steps, 2), cpuMs: round(r.cpuMs / o.steps, 2) }));
  return result;
}

/** Human-readable summary (and the profile table when one was taken). */
export function formatTrainStep(r: TrainStepResult): string {
  const lines = [
    `${r.preset ?? 'custom'} d${r.d} L${r.layers} h${r.heads} ffn${r.ffn} V${r.vocab}, ${r.dtype}${r.quantize ? ` (linear ${r.quantize}${r.double_quant ? ', double-quantized scales' : ''})` : ''} on ${r.backend}, ` +
      `batch ${r.batch} x seq ${r.seq}, LoRA r=${r.rank} on ${r.targets.join(',')}`,
    `  ${r.tokens_per_s} tokens/s, step ${r.step_s_median} s (fwd ${r.fwd_s_median} s, bwd ${r.bwd_s_median} s; ${r.cores_busy} cores busy), ` +
      `peak RSS ${r.peak_rss_mib} MiB (--dry-run's estimate ${r.memory_estimate_mib} MiB, the runtime not counted), loss ${r.loss_first} -> ${r.loss_last}`,
  ];
  lines.push(`  ${(r.step_flops / 1e9).toFixed(1)} GFLOP of products and attention a step: ${r.gflops_effective} GFLOP/s` + ceilingText(r));
  if (r.ranks > 1)
    lines.push(
      `  ${r.ranks} ranks (global batch): all-reduce of ${r.params_lora} LoRA gradients ${(r.allreduce_s_median * 1e3).toFixed(2)} ms per step, ${(100 * r.allreduce_share).toFixed(2)}% of the step`,
    );
  if (r.profile) lines.push(formatProfile(r.profile, r.step_s_median * 1e3, r.step_cpu_s_mean * 1e3));
  return lines.join('\n');
}

function ceilingText(r: TrainStepResult): string {
  if (r.matmul_share === null) return '';
  return `, ${(100 * r.matmul_share).toFixed(0)}% of this machine's ${r.dtype} linear product (${r.matmul_shape}: ${r.matmul_gflops} GFLOP/s)`;
}

function formatProfile(rows: ProfileRow[], stepMs: number, stepCpuMs: number): string {
  const total = rows.reduce((s, r) => s + r.ms, 0);
  const totalCpu = rows.reduce((s, r) => s + r.cpuMs, 0);
  const out = [
    '  per step (mean of timed steps; cores: CPU time / wall time, how many cores were busy):',
    '  | primitive | calls | ms | % of step | cores |',
    '  |---|---|---|---|---|',
  ];
  const cores = (cpu: number, ms: number) => (ms > 0 ? (cpu / ms).toFixed(2) : '-');
  for (const r of rows.filter((x) => x.ms >= 0.5))
    out.push(`  | ${r.name} | ${r.calls} | ${r.ms.toFixed(1)} | ${((100 * r.ms) / stepMs).toFixed(1)} | ${cores(r.cpuMs, r.ms)} |`);
  out.push(
    `  | (outside primitives: JavaScript, GC) | | ${(stepMs - total).toFixed(1)} | ${((100 * (stepMs - total)) / stepMs).toFixed(1)} | ${cores(stepCpuMs - totalCpu, stepMs - total)} |`,
    `  | (the whole step) | | ${stepMs.toFixed(1)} | 100 | ${cores(stepCpuMs, stepMs)} |`,
  );
  return out.join('\n');
}
