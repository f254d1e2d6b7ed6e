// PEFT adapter folders: adapter_config.json + adapter_model.safetensors, loadable by
// PEFT's PeftModel.from_pretrained (and vLLM), and loaded back here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../io/fileIo.js';
import { writeSafetensors, type TensorToWrite } from '../io/safetensorsWriter.js';
import type { Module } from '../nn/module.js';
import { initFoldLink, stackChain, type ChainLink } from './chain.js';
import type { LoraConfig } from './config.js';
import { loftqBits, loftqIterOf } from './loftq.js';
import { QuantizedLinear } from '../nn/quantizedLinear.js';
import { loraLayers } from './inject.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, CHAIN_FILE, PEFT_PREFIX, peftConfigJson, type AdapterShape } from './peftConfig.js';

export { adapterUsesLoftq, loadPeftAdapter } from './peftLoad.js';

export interface SaveAdapterOptions {
  /** base_model_name_or_path: the model folder or hub id the adapter belongs to */
  baseModel: string;
  /** COLA's own metadata (schedule, seeds, link ranks); goes to cola_chain.json only */
  colaMeta?: Record<string, unknown>;
  /** DoRA: each module's magnitude vector [out] (PEFT's lora_magnitude_vector); given =
   * the adapter is written with use_dora true */
  magnitudes?: ReadonlyMap<string, Float32Array>;
  /** LoftQ (init "loftq"): PEFT's loftq_config.loftq_bits, 4 or 8 (the base's format) */
  loftqBits?: number;
}

/** One adapter to write: A [r, in], B [out, r] (f32), DoRA's m [out]. */
interface AdapterWeights extends AdapterShape {
  A: Float32Array;
  B: Float32Array;
  inFeatures: number;
  outFeatures: number;
  magnitude?: Float32Array;
}

/** Save the model's current LoRA adapters (`cfg` is the config they were applied with).
 * Adapters that started from the weight (PiSSA/OLoRA) are relative to the residual base
 * W - s B0 A0; they are written converted, relative to the ORIGINAL weights, as PEFT's
 * path_initial_model_for_weight_conversion does: the rank-2r LoRA [A; A0], [B, -B0]. */
export function saveLoraAdapter(dir: string, model: Module, cfg: LoraConfig, opts: SaveAdapterOptions): void {
  const layers = loraLayers(model);
  if (layers.length === 0) throw new Error('saveLoraAdapter: the model has no LoRA layers (applyLora first)');
  const magnitudes = cfg.useDora ? new Map(layers.map(([p, l]) => [p, l.lora_magnitude_vector!.f32])) : undefined;
  const base = layers[0]![1].base_layer;
  if (loftqIterOf(cfg.init) !== null && opts.loftqBits === undefined && base instanceof QuantizedLinear)
    opts = { ...opts, loftqBits: loftqBits(base.format) };
  if (layers.some(([, l]) => l.initFactors)) {
    const chain = new Map<string, ChainLink[]>();
    for (const [p, l] of layers) {
      const live = { A: l.lora_A.f32, B: l.lora_B.f32, r: l.r, scale: l.scaling };
      chain.set(p, l.initFactors ? [initFoldLink(l.initFactors.A, l.initFactors.B, l.r, l.scaling), live] : [live]);
    }
    saveChainAdapter(dir, chain, cfg, { ...opts, magnitudes });
    return;
  }
  const adapters = layers.map(([p, l]) => ({
    path: p,
    A: l.lora_A.f32,
    B: l.lora_B.f32,
    r: l.r,
    alpha: l.alpha,
    inFeatures: l.inFeatures,
    outFeatures: l.outFeatures,
    magnitude: magnitudes?.get(p),
  }));
  writeAdapterFolder(dir, adapters, cfg, biasTensors(model, cfg.trainBias), opts);
}

/** Save a whole chain as ONE LoRA (method.md sec. 4). Convention: each module's export
 * has rank R = sum_j r_j and lora_alpha = R with use_rslora false, so its scale is
 * s = alpha / R = 1 and every link's s_j is folded into its B columns (stackChain).
 * Modules whose R differs from the most common one get rank_pattern / alpha_pattern
 * entries. `chain` maps module path -> links in order (a DoRA chain: links with row
 * scales, and opts.magnitudes = the last link's m, which is exactly the exported
 * adapter's magnitude: see stackChain). */
export function saveChainAdapter(
  dir: string,
  chain: ReadonlyMap<string, readonly ChainLink[]>,
  cfg: LoraConfig,
  opts: SaveAdapterOptions,
): void {
  const adapters: AdapterWeights[] = [];
  for (const [p, links] of chain) {
    const one = stackChain(links, 1);
    adapters.push({
      path: p,
      A: one.A,
      B: one.B,
      r: one.r,
      alpha: one.r,
      inFeatures: one.A.length / one.r,
      outFeatures: one.B.length / one.r,
      magnitude: exportedMagnitude(opts.magnitudes?.get(p), one.rowScale),
    });
  }
  if (adapters.length === 0) throw new Error('saveChainAdapter: the chain has no modules');
  const links = [...chain.values()][0]!.map((l) => ({ r: l.r, scale: l.scale }));
  const meta = {
    format: 'cola-chain',
    version: 1,
    stacked: true,
    convention: 'one LoRA of rank sum(r_j) per module, lora_alpha = rank (s = 1), each link scale folded into its B columns',
    links,
    ...opts.colaMeta,
  };
  const useDora = opts.magnitudes !== undefined;
  if (cfg.useDora && !useDora) throw new Error('saveChainAdapter: the config has useDora but no magnitudes were given');
  if (useDora && adapters.some((a) => !a.magnitude)) throw new Error('saveChainAdapter: a DoRA chain needs a magnitude for every module');
  writeAdapterFolder(dir, adapters, { ...cfg, useRslora: false, useDora }, [], { ...opts, colaMeta: meta });
}

/** The stacked DoRA adapter's magnitude: the last link's m, with the sign of the product P
 * of the merged links' row scales (W0 + dW = (W_last + D_last) / P, whose row norm is
 * ||W_last + D_last|| / |P|). P > 0 unless a trained magnitude turned negative. */
function exportedMagnitude(m: Float32Array | undefined, P: Float32Array | undefined): Float32Array | undefined {
  if (!m || !P) return m;
  return m.map((x, o) => (P[o]! < 0 ? -x : x));
}

/** Weights first, then the config that describes them, each written atomically. */
function writeAdapterFolder(
  dir: string,
  adapters: AdapterWeights[],
  cfg: LoraConfig,
  extra: TensorToWrite[],
  opts: SaveAdapterOptions,
): void {
  fs.mkdirSync(dir, { recursive: true });
  const tensors: TensorToWrite[] = [];
  for (const a of adapters) {
    tensors.push({ name: `${PEFT_PREFIX}${a.path}.lora_A.weight`, dtype: 'F32', shape: [a.r, a.inFeatures], data: a.A });
    tensors.push({ name: `${PEFT_PREFIX}${a.path}.lora_B.weight`, dtype: 'F32', shape: [a.outFeatures, a.r], data: a.B });
    // PEFT's file key has no ".weight" after lora_magnitude_vector (its save/load renames it)
    if (a.magnitude)
      tensors.push({ name: `${PEFT_PREFIX}${a.path}.lora_magnitude_vector`, dtype: 'F32', shape: [a.outFeatures], data: a.magnitude });
  }
  writeSafetensors(path.join(dir, ADAPTER_WEIGHTS), [...tensors, ...extra]);
  writeJsonAtomic(path.join(dir, ADAPTER_CONFIG), peftConfigJson(cfg, adapters, opts.baseModel, opts.loftqBits));
  const chainFile = path.join(dir, CHAIN_FILE);
  if (opts.colaMeta) writeJsonAtomic(chainFile, opts.colaMeta);
  else fs.rmSync(chainFile, { force: true }); // never leave metadata of an older save beside new weights
}

/** Trained biases under their parameter names, as PEFT's get_peft_model_state_dict
 * keeps them ('all': every bias; 'lora_only': those of wrapped layers, `.base_layer.bias`). */
function biasTensors(model: Module, mode: LoraConfig['trainBias']): TensorToWrite[] {
  if (mode === 'none') return [];
  const out: TensorToWrite[] = [];
  for (const [name, t] of model.namedParameters()) {
    const isBias = name === 'bias' || name.endsWith('.bias');
    if (!isBias || (mode === 'lora_only' && !name.endsWith('.base_layer.bias'))) continue;
    out.push({ name: `${PEFT_PREFIX}${name}`, dtype: 'F32', shape: [...t.shape], data: t.f32 });
  }
  return out;
}
