import { ColaError } from '../errors.js';
import { Linear } from '../nn/linear.js';
import { QuantizedLinear } from '../nn/quantizedLinear.js';
import type { Module } from '../nn/module.js';
import { countParameters } from '../nn/module.js';
import { CausalLM } from '../models/causalLM.js';
import { isTargeted, rankAndAlpha, validateLoraConfig, type LoraConfig } from './config.js';
import { deriveSeed } from './init.js';
import { LoraLinear, type MergeOptions } from './loraLinear.js';

export interface ApplyLoraOptions {
  /** pissa/olora: leave the base weights alone (A = B = 0) because the caller installs
   * recorded init factors (a checkpoint restore, a loaded adapter) */
  deferWeightInit?: boolean;
}

/** Wrap every targeted Linear of `model` in a LoraLinear (in place) and freeze
 * everything but the adapters (and the biases trainBias names), as PEFT's
 * get_peft_model. Layer i's A is seeded from deriveSeed(seed, i): deterministic. */
export function applyLora(model: Module, cfg: LoraConfig, seed: number, opts: ApplyLoraOptions = {}): LoraLinear[] {
  validateLoraConfig(cfg);
  const existing = loraLayers(model);
  if (existing.length) {
    throw new ColaError(
      `the model already has LoRA layers (${existing[0]![0]}, ...); merge them (mergeAndUnload) before applying a new LoRA`,
    );
  }
  const chosen = selectTargets(model, cfg);
  model.requiresGrad(false);
  const layers = chosen.map(([path, lin], i) => {
    const { r, alpha } = rankAndAlpha(cfg, path);
    const layer = new LoraLinear(lin, {
      r,
      alpha,
      dropout: cfg.dropout,
      useRslora: cfg.useRslora,
      init: cfg.init,
      useDora: cfg.useDora,
      seed: deriveSeed(seed, i),
      deferWeightInit: opts.deferWeightInit,
    });
    model.setChild(path, layer);
    return layer;
  });
  setTrainableBiases(model, cfg.trainBias);
  return layers;
}

/** PEFT's `bias`: 'all' trains every bias, 'lora_only' those of wrapped layers. */
function setTrainableBiases(model: Module, mode: LoraConfig['trainBias']): void {
  if (mode === 'all') {
    for (const [name, t] of model.namedParameters()) if (name === 'bias' || name.endsWith('.bias')) t.requiresGrad = true;
  } else if (mode === 'lora_only') {
    for (const [, layer] of loraLayers(model)) if (layer.base_layer.bias) layer.base_layer.bias.requiresGrad = true;
  }
}

/** A layer LoRA can wrap: a Linear, or a QuantizedLinear (a quantized base, issue 17). */
export type BaseLinear = Linear | QuantizedLinear;

/** Plain Linear and QuantizedLinear modules with their paths (not those already inside a LoraLinear). */
export function linearModules(model: Module): [string, BaseLinear][] {
  const out: [string, BaseLinear][] = [];
  const wrapped = new Set<Module>(loraLayers(model).map(([, l]) => l.base_layer));
  for (const [path, m] of model.namedModules())
    if ((m instanceof Linear || m instanceof QuantizedLinear) && !wrapped.has(m)) out.push([path, m]);
  return out;
}

/** The plain Linear modules `cfg` selects; a ColaError naming the model's linear
 * modules when there is none. */
export function selectTargets(model: Module, cfg: LoraConfig): [string, BaseLinear][] {
  const candidates = linearModules(model);
  const chosen = candidates.filter(([path, lin]) => (cfg.targets === 'all-linear' ? !isLmHead(model, path, lin) : isTargeted(cfg, path)));
  if (chosen.length === 0) {
    const names = [...new Set(candidates.map(([p]) => p.split('.').pop()!))].join(', ');
    throw new ColaError(
      `LoRA targets ${JSON.stringify(cfg.targetRegex ?? cfg.targets)} match no linear module of this model; ` +
        `its linear modules are named: ${names} (e.g. ${candidates[0]?.[0] ?? 'none'}). Set targets to some of these names.`,
    );
  }
  return chosen;
}

/** PEFT's 'all-linear' leaves the output layer alone. */
function isLmHead(model: Module, path: string, lin: BaseLinear): boolean {
  return path === 'lm_head' || (model instanceof CausalLM && lin instanceof Linear && model.lmHeadWeight() === lin.weight);
}

/** Every LoraLinear with its module path, in model order. */
export function loraLayers(model: Module): [string, LoraLinear][] {
  const out: [string, LoraLinear][] = [];
  for (const [path, m] of model.namedModules()) if (m instanceof LoraLinear) out.push([path, m]);
  return out;
}

/** Merge every adapter and put the plain Linear back (PEFT's merge_and_unload). */
export function mergeAndUnload(model: Module): void {
  for (const [path, layer] of loraLayers(model)) {
    if (!layer.merged) layer.merge({ exactUnmerge: false });
    model.setChild(path, layer.base_layer);
  }
}

/** Merge every adapter in place (kept wrapped); see LoraLinear.merge. */
export function mergeAll(model: Module, opts?: MergeOptions): void {
  for (const [, layer] of loraLayers(model)) layer.merge(opts);
}

/** Number of trainable elements (A and B, plus biases per trainBias). */
export function trainableCount(model: Module): number {
  return countParameters(model.trainableParameters().map(([, t]) => t));
}
