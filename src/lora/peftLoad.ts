// Loading a PEFT LoRA adapter folder onto a model: every key and shape is checked
// first and all problems are reported in one error, then the adapters are applied.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../errors.js';
import { readJsonObject } from '../io/fileIo.js';
import { openSafetensors, type SafetensorsFile } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { loraScale, rankAndAlpha, validateLoraConfig, type LoraConfig } from './config.js';
import { loftqBits, loftqIterOf, loftqLayer } from './loftq.js';
import { dropDenseSources } from '../models/quantize.js';
import { QuantizedLinear } from '../nn/quantizedLinear.js';
import { applyLora, loraLayers, selectTargets, type BaseLinear } from './inject.js';
import type { LoraLinear } from './loraLinear.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, CHAIN_FILE, PEFT_PREFIX, loftqBitsOf, parsePeftConfig } from './peftConfig.js';

export interface LoadedAdapter {
  config: LoraConfig;
  layers: LoraLinear[];
}

/** `base_model.model.<path>.lora_A.weight`, also with PEFT's in-memory adapter name
 * (`.lora_A.default.weight`). */
const LORA_KEY = /^base_model\.model\.(.+)\.(lora_A|lora_B)(?:\.default)?\.weight$/;
/** DoRA's m [out]: PEFT writes `<path>.lora_magnitude_vector` (in memory `.default.weight`). */
const MAGNITUDE_KEY = /^base_model\.model\.(.+)\.lora_magnitude_vector(?:\.default)?(?:\.weight)?$/;

interface AdapterKeys {
  lora: Map<string, { lora_A?: string; lora_B?: string; magnitude?: string }>;
  /** parameter name in the unwrapped model -> file key */
  bias: Map<string, string>;
  unexpected: string[];
}

/** Apply the adapter in `dir` to `model` (which must have no LoRA layers yet).
 * `seed` only matters for dropout masks if the adapter is trained further. */
export function loadPeftAdapter(model: Module, dir: string, seed = 0): LoadedAdapter {
  const configFile = path.join(dir, ADAPTER_CONFIG);
  const weightsFile = path.join(dir, ADAPTER_WEIGHTS);
  for (const f of [configFile, weightsFile]) {
    if (!fs.existsSync(f))
      throw new ColaError(
        `${dir}: ${path.basename(f)} is missing; expected a PEFT adapter folder (${ADAPTER_CONFIG} + ${ADAPTER_WEIGHTS})`,
      );
  }
  if (loraLayers(model).length)
    throw new ColaError(`${dir}: the model already has LoRA layers; mergeAndUnload it before loading an adapter`);
  const raw = readJsonObject(configFile);
  const cfg = validateLoraConfig(parsePeftConfig(raw, configFile), configFile);
  const chainMeta = checkChainFile(dir);
  const file = openSafetensors(weightsFile);
  checkModulesToSave(raw.modules_to_save, configFile, file);
  const targets = new Map(selectTargets(model, cfg));
  const params = new Map(model.namedParameters());
  const keys = classifyKeys(file);
  const problems = [
    ...loraProblems(cfg, targets, keys, file),
    ...biasProblems(params, keys, file),
    ...keys.unexpected.map((k) => `unexpected key ${k}`),
  ];
  if (problems.length) {
    throw new ColaError(
      `${weightsFile}: the adapter does not fit this model and ${ADAPTER_CONFIG} (${problems.length} problems):\n  ${problems.join('\n  ')}\n` +
        `Check that the adapter was trained on this base model (${String(raw.base_model_name_or_path ?? 'unknown')}) and that r, rank_pattern and target_modules match the saved tensors.`,
    );
  }
  const loftqIter = loftqIterOf(cfg.init);
  if (loftqIter !== null)
    rebuildLoftqCodes({ targets, cfg, iter: loftqIter, bits: loftqBitsOf(raw), ranks: chainMeta?.loftq_ranks, configFile });
  // LoftQ's factors are replaced by the saved ones below: the wrap itself is a plain one
  applyLora(model, loftqIter !== null ? { ...cfg, init: 'kaiming' } : cfg, seed);
  dropDenseSources(model);
  const layers = loraLayers(model).map(([p, layer]) => {
    const { r, alpha } = rankAndAlpha(cfg, p);
    const entry = keys.lora.get(p)!;
    layer.setAdapter(file.read(entry.lora_A!), file.read(entry.lora_B!), r, alpha);
    if (entry.magnitude) layer.setMagnitude(file.read(entry.magnitude));
    return layer;
  });
  // Biases by their unwrapped names; after wrapping, the same tensors sit under base_layer.
  for (const [name, key] of keys.bias) params.get(name)!.assign(file.read(key));
  return { config: cfg, layers };
}

/** cola_chain.json is COLA's own metadata beside a PEFT adapter; inference does not need
 * it, but a corrupt one means the folder was damaged or tampered with: say so now rather
 * than when a later step (resuming, reporting) reads it. */
function checkChainFile(dir: string): Record<string, unknown> | null {
  const chainFile = path.join(dir, CHAIN_FILE);
  if (!fs.existsSync(chainFile)) return null;
  try {
    return readJsonObject(chainFile, 16 << 20);
  } catch (e) {
    throw new ColaError(
      `${(e as Error).message}\n${chainFile} is COLA's chain metadata for this adapter and is damaged; re-save the adapter, or delete ${CHAIN_FILE} to load the LoRA weights without it`,
    );
  }
}

interface LoftqRebuild {
  targets: ReadonlyMap<string, BaseLinear>;
  cfg: LoraConfig;
  iter: number;
  /** loftq_config.loftq_bits, checked against the base's format */
  bits: number | undefined;
  /** cola_chain.json's loftq_ranks: the first link's rank per module (a chain's exported
   * rank is Σ r_j); absent (a PEFT adapter): the adapter's own rank */
  ranks: unknown;
  configFile: string;
}

/** An init "loftq" adapter is relative to LoftQ's codes, not to round-to-nearest's:
 * rebuild them (deterministic given the dense weights: lora/loftq.ts) on each target before
 * the saved A and B are applied. */
function rebuildLoftqCodes(o: LoftqRebuild): void {
  const ranks = typeof o.ranks === 'object' && o.ranks !== null ? (o.ranks as Record<string, unknown>) : {};
  for (const [p, base] of o.targets) {
    if (base instanceof QuantizedLinear && o.bits !== undefined && loftqBits(base.format) !== o.bits)
      throw new ColaError(
        `${o.configFile}: the adapter was trained on ${o.bits}-bit LoftQ codes (loftq_config.loftq_bits) but the base is ${base.format}; load it with the --quantize it was trained with`,
      );
    const { r, alpha } = rankAndAlpha(o.cfg, p);
    const r0 = ranks[p] ?? r;
    if (typeof r0 !== 'number' || !Number.isInteger(r0) || r0 < 1 || r0 > r)
      throw new ColaError(`${o.configFile}: ${CHAIN_FILE} loftq_ranks["${p}"] must be an integer in 1..${r}, found ${JSON.stringify(r0)}`);
    loftqLayer(base, { path: p, r: r0, scale: loraScale(alpha, r, o.cfg.useRslora), iter: o.iter, init: o.cfg.init });
  }
}

/** Does the adapter folder's adapter_config.json say init_lora_weights "loftq"? Then the base
 * must be loaded dense and quantized keeping the dense weights (the codes are rebuilt). A
 * missing or broken file reads as false: loadPeftAdapter reports it. */
export function adapterUsesLoftq(dir: string): boolean {
  try {
    return readJsonObject(path.join(dir, ADAPTER_CONFIG)).init_lora_weights === 'loftq';
  } catch {
    return false;
  }
}

/** PEFT's modules_to_save keeps full trained copies of whole modules (e.g. lm_head);
 * cola loads only LoRA weights and biases, so an adapter that lists any is refused rather
 * than loaded without them (and one listing them without tensors is named as broken). */
function checkModulesToSave(v: unknown, configFile: string, file: SafetensorsFile): void {
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return;
  if (!Array.isArray(v) || !v.every((m) => typeof m === 'string' && m.length > 0)) {
    throw new ColaError(`${configFile}: modules_to_save must be null or a list of module names, found ${JSON.stringify(v).slice(0, 200)}`);
  }
  const keys = [...file.tensors.keys()];
  const withTensors = (m: string) =>
    keys.some((k) => k.includes(`.${m}.modules_to_save.`) || k.startsWith(`${PEFT_PREFIX}${m}.`) || k.includes(`.${m}.weight`));
  const missing = (v as string[]).filter((m) => !withTensors(m));
  if (missing.length) {
    throw new ColaError(
      `${configFile}: modules_to_save lists ${missing.map((m) => JSON.stringify(m)).join(', ')} but ${file.path} holds no tensors for ${missing.length === 1 ? 'it' : 'them'}; the adapter is incomplete: re-save it with its full modules, or set "modules_to_save": null to use only the LoRA weights`,
    );
  }
  throw new ColaError(
    `${configFile}: modules_to_save ${JSON.stringify(v)} asks for full trained copies of whole modules, which cola does not load (only LoRA weights and biases); merge the adapter in PEFT and use the merged model instead`,
  );
}

function classifyKeys(file: SafetensorsFile): AdapterKeys {
  const out: AdapterKeys = { lora: new Map(), bias: new Map(), unexpected: [] };
  for (const key of file.tensors.keys()) {
    const m = LORA_KEY.exec(key);
    const mag = MAGNITUDE_KEY.exec(key);
    if (mag) {
      const entry = out.lora.get(mag[1]!) ?? {};
      entry.magnitude = key;
      out.lora.set(mag[1]!, entry);
    } else if (m) {
      const entry = out.lora.get(m[1]!) ?? {};
      entry[m[2] as 'lora_A' | 'lora_B'] = key;
      out.lora.set(m[1]!, entry);
    } else if (key.startsWith(PEFT_PREFIX) && key.endsWith('.bias')) {
      out.bias.set(key.slice(PEFT_PREFIX.length).replace(/\.base_layer\.bias$/, '.bias'), key);
    } else out.unexpected.push(`${key} (neither ${PEFT_PREFIX}<module>.lora_A/lora_B.weight nor a bias)`);
  }
  return out;
}

function loraProblems(cfg: LoraConfig, targets: Map<string, BaseLinear>, keys: AdapterKeys, file: SafetensorsFile): string[] {
  const problems: string[] = [];
  for (const [p, lin] of targets) {
    const { r } = rankAndAlpha(cfg, p);
    const entry = keys.lora.get(p);
    problems.push(...shapeProblem(file, entry?.lora_A, `${PEFT_PREFIX}${p}.lora_A.weight`, [r, lin.inFeatures], 0));
    problems.push(...shapeProblem(file, entry?.lora_B, `${PEFT_PREFIX}${p}.lora_B.weight`, [lin.outFeatures, r], 1));
    const magKey = `${PEFT_PREFIX}${p}.lora_magnitude_vector`;
    if (cfg.useDora && !entry?.magnitude) problems.push(`missing key ${magKey} [${lin.outFeatures}] (use_dora is true)`);
    if (!cfg.useDora && entry?.magnitude) problems.push(`unexpected key ${entry.magnitude}: use_dora is false in ${ADAPTER_CONFIG}`);
    if (cfg.useDora && entry?.magnitude) {
      const got = file.tensors.get(entry.magnitude)!.shape;
      if (got.length !== 1 || got[0] !== lin.outFeatures)
        problems.push(`${entry.magnitude}: expected shape [${lin.outFeatures}], found [${got.join(', ')}]`);
    }
  }
  for (const p of keys.lora.keys()) {
    if (!targets.has(p))
      problems.push(
        `unexpected keys for ${p}: target_modules ${JSON.stringify(cfg.targetRegex ?? cfg.targets)} does not select a linear module there`,
      );
  }
  return problems;
}

/** Missing key, wrong shape, or (axis `rankAxis` off) a rank that disagrees with the config. */
function shapeProblem(file: SafetensorsFile, key: string | undefined, name: string, want: number[], rankAxis: number): string[] {
  if (!key) return [`missing key ${name} [${want.join(', ')}]`];
  const got = file.tensors.get(key)!.shape;
  if (got.length === 2 && got[0] === want[0] && got[1] === want[1]) return [];
  const otherAxis = 1 - rankAxis;
  if (got.length === 2 && got[otherAxis] === want[otherAxis]) {
    return [`${key}: rank ${got[rankAxis]} in the file, but ${ADAPTER_CONFIG} (r / rank_pattern) says ${want[rankAxis]}`];
  }
  return [`${key}: expected shape [${want.join(', ')}], found [${got.join(', ')}]`];
}

function biasProblems(params: Map<string, Tensor>, keys: AdapterKeys, file: SafetensorsFile): string[] {
  const problems: string[] = [];
  for (const [name, key] of keys.bias) {
    const t = params.get(name);
    const got = file.tensors.get(key)!.shape;
    if (!t) problems.push(`${key}: the model has no parameter ${name}`);
    else if (t.dtype !== 'f32' || got.length !== t.shape.length || got.some((d, i) => d !== t.shape[i])) {
      problems.push(`${key}: expected an f32-loadable shape [${t.shape.join(', ')}], found [${got.join(', ')}]`);
    }
  }
  return problems;
}
