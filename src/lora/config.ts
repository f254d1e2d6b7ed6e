import { ColaError } from '../errors.js';
import { regexRisk } from '../io/regexSafety.js';

/** Which modules get a LoRA path and how (PEFT's LoraConfig, camelCase here; the
 * PEFT spelling lives in peftConfig.ts). */
export interface LoraConfig {
  /** rank of every adapter unless rankPattern says otherwise (paper: 8) */
  r: number;
  /** scale numerator: s = alpha / r, or alpha / sqrt(r) with useRslora (paper: 16) */
  alpha: number;
  /** dropout probability on the LoRA input, in [0, 1) */
  dropout: number;
  /** module-path suffixes ('q_proj' matches 'model.layers.0.self_attn.q_proj'), or
   * 'all-linear': every linear layer except the LM head (PEFT's shorthand) */
  targets: string[] | 'all-linear';
  /** full-match regex on the module path, as PEFT does with a string target_modules;
   * when set, `targets` must be empty (one way to select, never two) */
  targetRegex?: string;
  /** per-module rank overrides; key = a suffix or regex matched like PEFT's rank_pattern */
  rankPattern?: Record<string, number>;
  /** per-module alpha overrides; matched like rankPattern */
  alphaPattern?: Record<string, number>;
  /** rsLoRA (Kalajdzievski 2023, arXiv 2312.03732): s = alpha / sqrt(r) */
  useRslora: boolean;
  /** PEFT's init_lora_weights: Kaiming-uniform A (loralib/PEFT default, B = 0), N(0, (1/r)^2)
   * A ('gaussian'), or A and B taken from the weight itself, the base replaced by the
   * residual so the model is unchanged at init: 'pissa' (top-r SVD), 'pissa_niter_N'
   * (randomized SVD, N subspace iterations), 'olora' (QR). See weightInit.ts. 'loftq' /
   * 'loftq_iter_N' (a --quantize base only): the codes and the first A, B chosen together
   * so dequant(Q) + s B A ~ W (loftq.ts). */
  init: LoraInit;
  /** DoRA (Liu et al. 2024, arXiv 2402.09353; PEFT's use_dora): a trainable magnitude per
   * output row, W' = m * (W + s B A) / ||W + s B A||_row. See dora.ts. */
  useDora: boolean;
  /** which biases train: none, those of LoRA-wrapped layers, or every bias (PEFT's `bias`) */
  trainBias: 'none' | 'lora_only' | 'all';
}

/** The paper's setting: r = 8, alpha = 16 on the query and value projections. */
export const DEFAULT_LORA_CONFIG: LoraConfig = {
  r: 8,
  alpha: 16,
  dropout: 0,
  targets: ['q_proj', 'v_proj'],
  useRslora: false,
  init: 'kaiming',
  useDora: false,
  trainBias: 'none',
};

/** PEFT's init_lora_weights values cola implements (True = 'kaiming'). */
export type LoraInit = 'kaiming' | 'gaussian' | 'pissa' | 'olora' | `pissa_niter_${number}` | 'loftq' | `loftq_iter_${number}`;

/** Is `v` an init cola knows ('pissa_niter_N' with N a whole number of at least 1)? */
export function isLoraInit(v: unknown): v is LoraInit {
  return typeof v === 'string' && /^(kaiming|gaussian|pissa|olora|pissa_niter_[1-9]\d{0,3}|loftq|loftq_iter_[1-9]\d{0,2})$/.test(v);
}

/** LoftQ (loftq.ts): the quantized base's codes and the first link's A and B chosen together;
 * needs a --quantize base, changes its codes, never the dense weight. */
export function isLoftqInit(init: LoraInit): boolean {
  return init === 'loftq' || init.startsWith('loftq_iter_');
}

/** Inits that compute A and B from the base weight and replace it by the residual. */
export function isWeightInit(init: LoraInit): boolean {
  return init === 'pissa' || init === 'olora' || init.startsWith('pissa_niter_');
}

const KEYS = new Set([
  'r',
  'alpha',
  'dropout',
  'targets',
  'targetRegex',
  'rankPattern',
  'alphaPattern',
  'useRslora',
  'init',
  'useDora',
  'trainBias',
]);

/** Check every field; one ColaError lists every problem (`where` names the source). */
export function validateLoraConfig(cfg: LoraConfig, where = 'LoRA config'): LoraConfig {
  const problems: string[] = [];
  for (const k of Object.keys(cfg)) if (!KEYS.has(k)) problems.push(`unknown key "${k}" (known: ${[...KEYS].join(', ')})`);
  if (!isRank(cfg.r)) problems.push(`r must be a positive integer, found ${JSON.stringify(cfg.r)}`);
  if (!isAlpha(cfg.alpha)) problems.push(`alpha must be a positive number, found ${JSON.stringify(cfg.alpha)}`);
  if (typeof cfg.dropout !== 'number' || !(cfg.dropout >= 0 && cfg.dropout < 1)) {
    problems.push(`dropout must be a number in [0, 1), found ${JSON.stringify(cfg.dropout)}`);
  }
  problems.push(...targetProblems(cfg));
  problems.push(...patternProblems('rankPattern', cfg.rankPattern, isRank, 'a positive integer'));
  problems.push(...patternProblems('alphaPattern', cfg.alphaPattern, isAlpha, 'a positive number'));
  if (typeof cfg.useRslora !== 'boolean') problems.push(`useRslora must be true or false, found ${JSON.stringify(cfg.useRslora)}`);
  if (!isLoraInit(cfg.init))
    problems.push(
      `init must be "kaiming", "gaussian", "pissa", "pissa_niter_N" (N >= 1), "olora", "loftq" or "loftq_iter_N" (N >= 1), found ${JSON.stringify(cfg.init)}`,
    );
  if (typeof cfg.useDora !== 'boolean') problems.push(`useDora must be true or false, found ${JSON.stringify(cfg.useDora)}`);
  if (!['none', 'lora_only', 'all'].includes(cfg.trainBias)) {
    problems.push(`trainBias must be "none", "lora_only" or "all", found ${JSON.stringify(cfg.trainBias)}`);
  }
  if (problems.length) throw new ColaError(`${where}: invalid LoRA settings:\n  ${problems.join('\n  ')}`);
  return cfg;
}

function isRank(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 1 << 20;
}

function isAlpha(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0;
}

function targetProblems(cfg: LoraConfig): string[] {
  const { targets, targetRegex } = cfg;
  const listOk = targets === 'all-linear' || (Array.isArray(targets) && targets.every((t) => typeof t === 'string' && t.length > 0));
  if (!listOk) return [`targets must be "all-linear" or a list of module-name suffixes, found ${JSON.stringify(targets)}`];
  if (targetRegex === undefined) {
    return targets.length === 0 ? ['targets is empty: name modules (e.g. ["q_proj", "v_proj"]), "all-linear", or set targetRegex'] : [];
  }
  if (targets === 'all-linear' || targets.length > 0)
    return ['set either targets or targetRegex, not both (use targets: [] with targetRegex)'];
  return regexProblem('targetRegex', targetRegex);
}

function patternProblems(name: string, pattern: Record<string, number> | undefined, ok: (v: unknown) => boolean, what: string): string[] {
  if (pattern === undefined) return [];
  if (typeof pattern !== 'object' || pattern === null || Array.isArray(pattern))
    return [`${name} must be an object {pattern: value}, found ${JSON.stringify(pattern)}`];
  const out: string[] = [];
  for (const [key, value] of Object.entries(pattern)) {
    out.push(...regexProblem(`${name} key`, key));
    if (!ok(value)) out.push(`${name}["${key}"] must be ${what}, found ${JSON.stringify(value)}`);
  }
  return out;
}

/** Patterns may come from an untrusted adapter_config.json: besides compiling, each must
 * pass regexRisk so matching module paths cannot backtrack for minutes. */
function regexProblem(name: string, source: string): string[] {
  try {
    new RegExp(source);
  } catch (e) {
    return [`${name} ${JSON.stringify(source)} is not a valid regular expression (${(e as Error).message})`];
  }
  const risk = regexRisk(source);
  return risk
    ? [`${name} ${JSON.stringify(source)} is refused because matching it could take unbounded time: ${risk}; list module names instead`]
    : [];
}

/** Does `path` (e.g. 'model.layers.0.self_attn.q_proj') fall under the config's targets?
 * A list entry matches the whole path or a dot-separated suffix of it; targetRegex must
 * match the whole path (PEFT's check_target_module_exists). 'all-linear' is resolved by
 * the caller, who knows which module is the LM head. */
export function isTargeted(cfg: LoraConfig, path: string): boolean {
  if (cfg.targetRegex !== undefined) return new RegExp(`^(?:${cfg.targetRegex})$`).test(path);
  if (cfg.targets === 'all-linear') return true;
  return cfg.targets.some((t) => path === t || path.endsWith(`.${t}`));
}

/** The first pattern key matching `path` as PEFT's get_pattern_key does: the key is a
 * regex that must match a dot-separated suffix of the path. */
export function patternValue(pattern: Record<string, number> | undefined, path: string): number | undefined {
  if (!pattern) return undefined;
  for (const [key, value] of Object.entries(pattern)) {
    if (new RegExp(`^(?:.*\\.)?(?:${key})$`).test(path)) return value;
  }
  return undefined;
}

/** Rank and alpha of the adapter at `path`, overrides applied. */
export function rankAndAlpha(cfg: LoraConfig, path: string): { r: number; alpha: number } {
  return { r: patternValue(cfg.rankPattern, path) ?? cfg.r, alpha: patternValue(cfg.alphaPattern, path) ?? cfg.alpha };
}

/** LoRA scale s: alpha / r (Hu et al. 2021), or alpha / sqrt(r) with rsLoRA. */
export function loraScale(alpha: number, r: number, useRslora: boolean): number {
  return useRslora ? alpha / Math.sqrt(r) : alpha / r;
}

/** A regex matching exactly `text` (module paths become rank_pattern keys). */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
