// adapter_config.json <-> LoraConfig. Only keys PEFT's LoraConfig knows are written:
// PEFT builds its config with LoraConfig(**json) and older versions reject unknown
// keys, so COLA's own metadata goes to cola_chain.json beside it.
import { ColaError } from '../errors.js';
import { regexRisk } from '../io/regexSafety.js';
import { escapeRegex, patternValue, type LoraConfig } from './config.js';
import { loftqIterOf } from './loftq.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
export const CHAIN_FILE = 'cola_chain.json';
/** PeftModel wraps the base model twice: PeftModel.base_model (LoraModel).model */
export const PEFT_PREFIX = 'base_model.model.';

/** One adapter as it will be written: its module path, rank and alpha. */
export interface AdapterShape {
  path: string;
  r: number;
  alpha: number;
}

/** The JSON PEFT reads. `targetModules` is what PEFT matches (suffix list or regex).
 * fan_in_fan_out is false: our Linear always holds [out, in]; GPT-2's Conv1D weights
 * are transposed at load, and PEFT sets the flag itself for Conv1D when it loads. */
export function peftConfigJson(
  cfg: LoraConfig,
  adapters: readonly AdapterShape[],
  baseModel: string,
  loftqBits?: number,
): Record<string, unknown> {
  const { r, alpha, rankPattern, alphaPattern } = ranksAsWritten(cfg, adapters);
  const loftqIter = loftqIterOf(cfg.init);
  if (loftqIter !== null && loftqBits === undefined) throw new Error('peftConfigJson: a LoftQ adapter needs loftqBits');
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r,
    lora_alpha: alpha,
    lora_dropout: cfg.dropout,
    target_modules: peftTargetModules(cfg, adapters),
    use_rslora: cfg.useRslora,
    rank_pattern: rankPattern,
    alpha_pattern: alphaPattern,
    bias: cfg.trainBias,
    fan_in_fan_out: false,
    // cola always writes adapters relative to the ORIGINAL base weights: a PiSSA/OLoRA run is
    // exported already converted to a plain LoRA (peft.ts), so PEFT must not redo the init
    // (with "pissa"/"olora" here PEFT would replace the base by a residual on load).
    // LoftQ is the exception: its adapter is relative to the LoftQ codes dequant(Q), not to W,
    // so the loader must rebuild those codes (PEFT's spelling: "loftq" + loftq_config)
    init_lora_weights: loftqIter !== null ? 'loftq' : cfg.init === 'gaussian' ? 'gaussian' : true,
    ...(loftqIter !== null ? { loftq_config: { loftq_bits: loftqBits, loftq_iter: loftqIter } } : {}),
    inference_mode: true,
    use_dora: cfg.useDora,
    modules_to_save: null,
  };
}

/** A regex stays a string (PEFT full-matches it); 'all-linear' is expanded to the
 * wrapped modules' names, as PEFT itself does before saving. */
function peftTargetModules(cfg: LoraConfig, adapters: readonly AdapterShape[]): string[] | string {
  if (cfg.targetRegex !== undefined) return cfg.targetRegex;
  if (cfg.targets === 'all-linear') return [...new Set(adapters.map((a) => a.path.split('.').pop()!))].sort();
  return [...cfg.targets];
}

/** The config's own r/alpha/patterns when every adapter still agrees with them; else
 * (rank changed per link, a stacked chain) the most common r and alpha plus one
 * pattern entry per deviating module, keyed by its escaped path. */
function ranksAsWritten(cfg: LoraConfig, adapters: readonly AdapterShape[]) {
  const agrees = adapters.every(
    (a) => a.r === (patternValue(cfg.rankPattern, a.path) ?? cfg.r) && a.alpha === (patternValue(cfg.alphaPattern, a.path) ?? cfg.alpha),
  );
  if (agrees) return { r: cfg.r, alpha: cfg.alpha, rankPattern: cfg.rankPattern ?? {}, alphaPattern: cfg.alphaPattern ?? {} };
  const r = mostCommon(adapters.map((a) => a.r));
  const alpha = mostCommon(adapters.map((a) => a.alpha));
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  const paths = adapters.map((a) => a.path);
  for (const a of adapters) {
    if (a.r !== r) rankPattern[patternKey(a.path, paths)] = a.r;
    if (a.alpha !== alpha) alphaPattern[patternKey(a.path, paths)] = a.alpha;
  }
  return { r, alpha, rankPattern, alphaPattern };
}

/** A pattern key selecting exactly `modulePath`. Recent PEFT matches keys as
 * `(.*\.)?(key)$`, older versions as `.*\.key$` (a dot required before the key), so the
 * first path component is dropped when the rest still names one module only. */
function patternKey(modulePath: string, allPaths: readonly string[]): string {
  const rest = modulePath.slice(modulePath.indexOf('.') + 1);
  const unique = modulePath.includes('.') && allPaths.every((p) => p === modulePath || (p !== rest && !p.endsWith(`.${rest}`)));
  return escapeRegex(unique ? rest : modulePath);
}

function mostCommon(values: number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].reduce((best, cur) => (cur[1] > best[1] ? cur : best))[0];
}

/** Read adapter_config.json into a LoraConfig; one ColaError lists every problem.
 * Keys PEFT has but inference ignores (task_type, inference_mode, ...) are skipped. */
export function parsePeftConfig(raw: Record<string, unknown>, file: string): LoraConfig {
  const problems: string[] = [];
  if (raw.peft_type !== 'LORA') problems.push(`peft_type must be "LORA", found ${JSON.stringify(raw.peft_type)}`);
  const useDora = raw.use_dora ?? false;
  if (typeof useDora !== 'boolean') problems.push(`use_dora must be true or false, found ${JSON.stringify(useDora)}`);
  const init = initOf(raw.init_lora_weights, problems, raw.loftq_config);
  const r = positiveInt(raw.r, 'r', problems);
  const alpha = raw.lora_alpha ?? 8; // PEFT's default
  if (typeof alpha !== 'number' || !(alpha > 0)) problems.push(`lora_alpha must be a positive number, found ${JSON.stringify(alpha)}`);
  const dropout = raw.lora_dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1))
    problems.push(`lora_dropout must be in [0, 1), found ${JSON.stringify(dropout)}`);
  const target = targetsOf(raw.target_modules, problems);
  const useRslora = raw.use_rslora ?? false;
  if (typeof useRslora !== 'boolean') problems.push(`use_rslora must be true or false, found ${JSON.stringify(useRslora)}`);
  const bias = raw.bias ?? 'none';
  if (bias !== 'none' && bias !== 'lora_only' && bias !== 'all')
    problems.push(`bias must be "none", "lora_only" or "all", found ${JSON.stringify(bias)}`);
  const rankPattern = patternOf(raw.rank_pattern, 'rank_pattern', problems);
  const alphaPattern = patternOf(raw.alpha_pattern, 'alpha_pattern', problems);
  if (problems.length) throw new ColaError(`${file}: not a usable PEFT LoRA config:\n  ${problems.join('\n  ')}`);
  return {
    r,
    alpha: alpha as number,
    dropout: dropout as number,
    ...target,
    rankPattern,
    alphaPattern,
    useRslora: useRslora as boolean,
    init,
    useDora: useDora as boolean,
    trainBias: bias as LoraConfig['trainBias'],
  };
}

/** PEFT's init_lora_weights. A saved adapter's A and B are loaded over the init, so only
 * the inits that change the BASE matter: "pissa" and "olora" are deterministic functions
 * of the base weight (the residual W - s B0 A0 does not depend on SVD signs), so cola
 * redoes them; "pissa_niter_N" is randomized and cannot be reproduced, so such an adapter
 * is refused with the conversion PEFT offers. */
function initOf(v: unknown, problems: string[], loftqConfig: unknown): LoraConfig['init'] {
  if (v === undefined || v === true || v === false || v === null) return 'kaiming';
  if (v === 'loftq') return loftqInitOf(loftqConfig, problems);
  if (v === 'gaussian' || v === 'pissa' || v === 'olora') return v;
  if (typeof v === 'string' && /^pissa_niter_\d+$/.test(v)) {
    problems.push(
      `init_lora_weights is "${v}": the randomized SVD that made the residual base cannot be reproduced; ` +
        'save the adapter in PEFT with path_initial_model_for_weight_conversion (a plain LoRA of the original model) and load that',
    );
    return 'kaiming';
  }
  problems.push(`init_lora_weights ${JSON.stringify(v)} is not supported (cola knows true, false, "gaussian", "pissa", "olora", "loftq")`);
  return 'kaiming';
}

/** "loftq": the adapter is relative to LoftQ's codes, which cola rebuilds from the dense
 * base (lora/loftq.ts) with loftq_config's loftq_iter (PEFT's default 1); loftq_bits must
 * be 4 or 8 and is checked against the --quantize format when the adapter is applied. */
function loftqInitOf(v: unknown, problems: string[]): LoraConfig['init'] {
  const c = v ?? {};
  if (typeof c !== 'object' || c === null || Array.isArray(c)) {
    problems.push(`loftq_config must be an object {loftq_bits, loftq_iter}, found ${JSON.stringify(v)}`);
    return 'kaiming';
  }
  const { loftq_bits: bits, loftq_iter: iter = 1 } = c as Record<string, unknown>;
  if (bits !== undefined && bits !== 4 && bits !== 8)
    problems.push(`loftq_config.loftq_bits must be 4 or 8, found ${JSON.stringify(bits)}`);
  if (typeof iter !== 'number' || !Number.isInteger(iter) || iter < 1 || iter > 999) {
    problems.push(`loftq_config.loftq_iter must be an integer in 1..999, found ${JSON.stringify(iter)}`);
    return 'kaiming';
  }
  return iter === 1 ? 'loftq' : `loftq_iter_${iter}`;
}

/** loftq_config.loftq_bits of a raw adapter_config.json (undefined when absent). */
export function loftqBitsOf(raw: Record<string, unknown>): number | undefined {
  const c = raw.loftq_config;
  const bits = typeof c === 'object' && c !== null ? (c as Record<string, unknown>).loftq_bits : undefined;
  return typeof bits === 'number' ? bits : undefined;
}

function positiveInt(v: unknown, key: string, problems: string[]): number {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  problems.push(`${key} must be a positive integer, found ${JSON.stringify(v)}`);
  return 1;
}

/** PEFT: a list of suffixes, "all-linear", or any other string = a full-match regex. */
function targetsOf(v: unknown, problems: string[]): Pick<LoraConfig, 'targets' | 'targetRegex'> {
  if (v === 'all-linear') return { targets: 'all-linear' };
  if (typeof v === 'string' && v.length > 0) {
    const risk = regexRisk(v);
    if (risk) problems.push(`target_modules regex ${JSON.stringify(v)} is refused because matching it could take unbounded time: ${risk}`);
    return { targets: [], targetRegex: v };
  }
  if (Array.isArray(v) && v.length > 0 && v.every((t) => typeof t === 'string' && t.length > 0)) return { targets: v as string[] };
  problems.push(`target_modules must be a non-empty list of module names or a regex string, found ${JSON.stringify(v)}`);
  return { targets: [] };
}

function patternOf(v: unknown, key: string, problems: string[]): Record<string, number> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'number' || !(x > 0))) {
    problems.push(`${key} must map module patterns to positive numbers, found ${JSON.stringify(v)}`);
    return undefined;
  }
  for (const k of Object.keys(v)) {
    const risk = regexRisk(k);
    if (risk) problems.push(`${key} key ${JSON.stringify(k)} is refused because matching it could take unbounded time: ${risk}`);
  }
  return Object.keys(v).length ? (v as Record<string, number>) : undefined;
}
