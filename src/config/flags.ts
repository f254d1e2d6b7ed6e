/** Flag tables: one typed record per command, and its flags derived from it.
 * A table maps each camelCase config key to its flag (the key in kebab-case:
 * `batchSize` is `--batch-size` and the `batch-size` key of a --config file), type,
 * default, help and choices. `FlagValues<T>` is the typed record a table describes,
 * so the CLI parses generically and no caller reads options by string key. */

export type FlagType = 'string' | 'number' | 'int' | 'boolean' | 'list';

export interface FlagSpec {
  type: FlagType;
  help: string;
  default?: string | number | boolean | readonly string[];
  choices?: readonly string[];
  required?: boolean;
  /** Shown in --help instead of the type, e.g. DIR, FILE. */
  meta?: string;
}

export type FlagTable = Record<string, FlagSpec>;

type Base<S extends FlagSpec> = S['type'] extends 'number' | 'int'
  ? number
  : S['type'] extends 'boolean'
    ? boolean
    : S['type'] extends 'list'
      ? string[]
      : S extends { choices: readonly (infer C)[] }
        ? C
        : string;

type WithDefault<T extends FlagTable> = { [K in keyof T]: T[K] extends { default: unknown } ? K : never }[keyof T];
type BoolKeys<T extends FlagTable> = { [K in keyof T]: T[K]['type'] extends 'boolean' ? K : never }[keyof T];

/** The typed record of a table: a flag with a default (or a boolean, false when not
 * given) is always set; the others may be undefined. */
export type FlagValues<T extends FlagTable> = { -readonly [K in WithDefault<T> | BoolKeys<T>]: Base<T[K]> } & {
  -readonly [K in Exclude<keyof T, WithDefault<T> | BoolKeys<T>>]?: Base<T[K]>;
};

/** `batchSize` -> `batch-size`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The table's defaults as its typed record (booleans false). */
export function defaultsOf<T extends FlagTable>(table: T): FlagValues<T> {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(table)) {
    if (s.default !== undefined) out[k] = Array.isArray(s.default) ? [...(s.default as string[])] : s.default;
    else if (s.type === 'boolean') out[k] = false;
  }
  return out as FlagValues<T>;
}

/** The typed record from parsed flag values (kebab-case keys, already converted
 * and checked against the specs); keys not in the table are left out. */
export function valuesOf<T extends FlagTable>(table: T, parsed: Readonly<Record<string, unknown>>): FlagValues<T> {
  const out = defaultsOf(table) as Record<string, unknown>;
  for (const k of Object.keys(table)) {
    const v = parsed[flagName(k)];
    if (v !== undefined) out[k] = v;
  }
  return out as FlagValues<T>;
}
