import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ColaError } from '../errors.js';

import { flagName, type FlagSpec, type FlagTable } from '../config/flags.js';
import type { RunConfig } from '../cola/runConfig.js';
import { runConfigFlags } from '../cola/runConfigFlags.js';

/** One flag of a command: its type, default and help (see src/config/flags.ts). */
export type OptionSpec = FlagSpec;

/** Flags by their kebab-case name, as parsed. */
export type OptionSpecs = Record<string, OptionSpec>;

/** A typed config's flag table (camelCase keys) as flags by kebab-case name. */
export function specsOf(table: FlagTable): OptionSpecs {
  return Object.fromEntries(Object.entries(table).map(([k, s]) => [flagName(k), s]));
}
export type OptionValues = Record<string, string | number | boolean | string[] | undefined>;

export interface Parsed {
  values: OptionValues;
  positionals: string[];
  /** Which flags came from the command line / config file (the rest are defaults). */
  given: Set<string>;
}

/** Parse argv against specs with precedence CLI > --config file > defaults.
 * Every problem (unknown flag or key, bad value, missing required) is collected
 * and reported in one error before any work starts. */
export function parseOptions(argv: readonly string[], specs: OptionSpecs, command: string): Parsed {
  const problems: string[] = [];
  const cli: OptionValues = {};
  const positionals: string[] = [];
  let configFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (name === 'config') {
      configFile = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      continue;
    }
    const negated = !specs[name] && name.startsWith('no-') && specs[name.slice(3)]?.type === 'boolean';
    const key = negated ? name.slice(3) : name;
    const spec = specs[key];
    if (!spec) {
      problems.push(`unknown flag --${name}${suggest(name, Object.keys(specs))}`);
      continue;
    }
    if (spec.type === 'boolean') {
      cli[key] = negated ? false : eq > 0 ? convert(arg.slice(eq + 1), spec, `--${name}`, problems) : true;
      continue;
    }
    const raw = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined) {
      problems.push(`--${name} needs a value (${spec.meta ?? spec.type})`);
      continue;
    }
    cli[name] = convert(raw, spec, `--${name}`, problems);
  }
  const file = configFile ? readConfigFile(configFile, specs, problems) : {};
  const values: OptionValues = {};
  const given = new Set<string>();
  for (const [name, spec] of Object.entries(specs)) {
    const v =
      cli[name] ?? file[name] ?? (Array.isArray(spec.default) ? [...(spec.default as string[])] : (spec.default as OptionValues[string]));
    if (cli[name] !== undefined || file[name] !== undefined) given.add(name);
    if (v === undefined && spec.required) problems.push(`--${name} is required (${spec.help})`);
    values[name] = v;
  }
  if (problems.length) {
    throw new ColaError(
      `cola ${command}: ${problems.length === 1 ? problems[0] : '\n  ' + problems.join('\n  ')}\nRun \`cola ${command} --help\` for the flags.`,
    );
  }
  return { values, positionals, given };
}

function readConfigFile(file: string, specs: OptionSpecs, problems: string[]): OptionValues {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    problems.push(`--config ${file}: file not found`);
    return {};
  }
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    problems.push(`--config ${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'} (${(e as Error).message.split('\n')[0]})`);
    return {};
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    problems.push(`--config ${file}: expected a mapping of flag names to values`);
    return {};
  }
  if (isRunRecord(data)) {
    if (!specs['method']) {
      problems.push(
        `--config ${file}: is a run's config.json; replay the run with \`cola train --config ${file} --out NEW_DIR\`, evaluate it with \`cola eval --run DIR\``,
      );
      return {};
    }
    try {
      data = replayValues(data, file);
    } catch (e) {
      if (!(e instanceof ColaError)) throw e;
      problems.push(e.message);
      return {};
    }
  }
  const out: OptionValues = {};
  for (const [key, value] of Object.entries(data as object)) {
    const spec = specs[key];
    if (!spec) {
      problems.push(`${file}: unknown key "${key}"${suggest(key, Object.keys(specs))}`);
      continue;
    }
    const raw = Array.isArray(value) ? value.join(',') : String(value);
    out[key] = resolvePath(convert(raw, spec, `${file}: key "${key}"`, problems), spec, file);
  }
  return out;
}

/** A run folder's config.json (api/runRecord.ts): the resolved run config under `run`. */
function isRunRecord(data: object): data is RecordToReplay {
  const run = (data as { run?: unknown }).run;
  return typeof run === 'object' && run !== null && 'method' in run && 'budget' in run;
}

/** What a run's config.json holds that a replay reads (api/runRecord.ts RunRecord). */
interface RecordToReplay {
  run: RunConfig;
  model?: unknown;
  dtype?: unknown;
  quantize?: unknown;
  doubleQuant?: unknown;
}

/** A run's config.json as `cola train` flags (issue 16: a run replays from its own record):
 * the run config turned back into flags, the model folder, the dtype, --quantize and
 * --double-quant. The run folder is not taken: a replay writes to its own --out. */
function replayValues(data: RecordToReplay, file: string): Record<string, unknown> {
  const flags = Object.entries(runConfigFlags(data.run, file)).map(([k, v]) => [flagName(k), v]);
  // fineTune without baseModel records "unknown": then --model must be given
  const model = typeof data.model === 'string' && data.model !== 'unknown' ? { model: data.model } : {};
  const dtype = data.dtype === 'f32' || data.dtype === 'bf16' ? { dtype: data.dtype } : {};
  // issue 17: the --quantize the run loaded its base with (checked against the choices below)
  const quantize = typeof data.quantize === 'string' ? { quantize: data.quantize } : {};
  const doubleQuant = data.doubleQuant === true ? { 'double-quant': true } : {};
  return { ...Object.fromEntries(flags), ...model, ...dtype, ...quantize, ...doubleQuant };
}

/** A path in a config file (a FILE or DIR flag) is relative to that file's folder, so
 * a config travels with the data beside it (issue 16); on the command line it stays
 * relative to the working directory. */
function resolvePath(v: OptionValues[string], spec: OptionSpec, file: string): OptionValues[string] {
  const one = (p: string): string => (path.isAbsolute(p) ? p : path.join(path.dirname(file), p));
  // FILE[,FILE...] (--data): each file of the list (a YAML list arrives joined by commas)
  if (typeof v === 'string' && spec.meta === 'FILE[,FILE...]')
    return v
      .split(',')
      .map((p) => one(p.trim()))
      .join(',');
  if (typeof v !== 'string' || (spec.meta !== 'FILE' && spec.meta !== 'DIR')) return v;
  return one(v);
}

function convert(raw: string, spec: OptionSpec, where: string, problems: string[]): OptionValues[string] {
  switch (spec.type) {
    case 'string':
      if (spec.choices && !spec.choices.includes(raw)) {
        problems.push(`${where}: "${raw}" is not one of ${spec.choices.join(', ')}`);
        return undefined;
      }
      return raw;
    case 'number':
    case 'int': {
      // decimal only: Number() would also read "0x2" as 2 and "" as 0
      const n = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isFinite(n) || (spec.type === 'int' && !Number.isInteger(n))) {
        problems.push(`${where}: expected ${spec.type === 'int' ? 'an integer' : 'a number'}, got "${raw}"`);
        return undefined;
      }
      return n;
    }
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') {
        problems.push(`${where}: expected true or false, got "${raw}"`);
        return undefined;
      }
      return raw === 'true';
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
  }
}

function suggest(name: string, known: string[]): string {
  const close = known.filter((k) => editDistance(k, name) <= 2);
  return close.length ? ` (did you mean --${close[0]}?)` : '';
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/** The --help text of a command from its specs. */
export function helpText(usage: string, summary: string, specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const flag = `--${name}${s.type === 'boolean' ? '' : ` ${s.meta ?? s.type.toUpperCase()}`}`;
    const extra = [
      s.choices ? `one of ${s.choices.join('|')}` : '',
      s.default !== undefined && s.type !== 'boolean' ? `default ${Array.isArray(s.default) ? s.default.join(',') : s.default}` : '',
      s.required ? 'required' : '',
    ]
      .filter(Boolean)
      .join('; ');
    return `  ${flag.padEnd(30)} ${s.help}${extra ? ` (${extra})` : ''}`;
  });
  return `${usage}\n\n${summary}\n\nOptions:\n${rows.join('\n')}\n  ${'--config FILE'.padEnd(30)} JSON or YAML file whose keys are these flags (CLI wins)\n  ${'--debug'.padEnd(30)} show stack traces\n  ${'--help'.padEnd(30)} this text\n`;
}
