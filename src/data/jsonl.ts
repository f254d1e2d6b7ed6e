/** JSONL reading with errors that name the file and the 1-based line, so a user can open
 * the file at the bad row. `skipBad` turns errors into a count (reported by the caller). */
import { readFileSync } from 'node:fs';
import { ColaError } from '../errors.js';

export type JsonObject = Record<string, unknown>;

export interface JsonlRow {
  /** 1-based line number in the file. */
  line: number;
  value: JsonObject;
}

export interface JsonlResult {
  rows: JsonlRow[];
  /** Lines skipped because of `skipBad` (0 when it is off). */
  skipped: number;
  /** The first few skip reasons, for a warning. */
  skippedReasons: string[];
}

export interface JsonlOptions {
  skipBad?: boolean;
  /** Extra per-row check: return an error text (e.g. 'expected "text"') or null when fine. */
  validate?: (value: JsonObject) => string | null;
}

/** A short, single-line excerpt of a value for an error message. */
export function preview(value: unknown, max = 80): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  const flat = (s ?? String(value)).replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max)}...` : flat;
}

function parseLine(text: string): { value?: JsonObject; error?: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { error: `invalid JSON (${(e as Error).message}): ${preview(text)}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return { error: `expected a JSON object, found ${preview(text)}` };
  }
  return { value: v as JsonObject };
}

/** Parses JSONL text; `file` only labels messages. Blank lines are allowed and ignored. */
export function parseJsonl(text: string, file: string, opts: JsonlOptions = {}): JsonlResult {
  const out: JsonlResult = { rows: [], skipped: 0, skippedReasons: [] };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    if (raw.trim() === '') continue;
    const parsed = parseLine(raw);
    const err = parsed.error ?? (opts.validate ? opts.validate(parsed.value!) : null);
    if (err === null || err === undefined) {
      out.rows.push({ line: i + 1, value: parsed.value! });
      continue;
    }
    const msg = `${file} line ${i + 1}: ${err}`;
    if (!opts.skipBad) throw new ColaError(`${msg}. Fix the line, or pass --skip-bad to skip bad lines.`);
    out.skipped++;
    if (out.skippedReasons.length < 5) out.skippedReasons.push(msg);
  }
  return out;
}

export function readJsonl(file: string, opts: JsonlOptions = {}): JsonlResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ColaError(`cannot read ${file}: ${(e as Error).message}. Check the path (--data-dir / --train-file).`);
  }
  return parseJsonl(text, file, opts);
}
