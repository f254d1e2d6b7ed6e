/** JSONL reading with errors that name the file and the 1-based line, so a user can open
 * the file at the bad row. `skipBad` turns errors into a count (reported by the caller).
 *
 * The file is untrusted: it is read in chunks with a bound on one line's length (a
 * 200 MB line would otherwise reach JSON.parse and V8's string limits), a row's nesting
 * depth is checked before parsing (deep rows overflow the stack of every recursive
 * consumer, JSON.stringify included), and a UTF-8 byte-order mark is accepted. */
import * as fs from 'node:fs';
import { ColaError } from '../errors.js';
import { jsonDepth } from '../io/fileIo.js';

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
  /** Extra per-row check: an error text (e.g. 'expected "text"') for a bad row, or
   * `{ message, skippable: false }` for a row skipBad must not drop (a valid row the
   * caller cannot use: skipping it would lose data silently), or null when fine. */
  validate?: (value: JsonObject) => string | { message: string; skippable: false } | null;
  /** Longest line accepted, in bytes (default MAX_LINE_BYTES). */
  maxLineBytes?: number;
}

/** Far above any real row (a long document is a few MB), far below V8's string limit. */
const MAX_LINE_BYTES = 32 << 20;
/** Real rows nest 3-4 deep ({"messages": [{"role": ...}]}). */
export const MAX_JSON_DEPTH = 64;
const CHUNK_BYTES = 1 << 20;

/** A short, single-line excerpt of a value for an error message. */
export function preview(value: unknown, max = 80): string {
  let s: string | undefined;
  try {
    s = typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    s = '(a value too deeply nested to show)'; // RangeError: a cycle or a very deep object
  }
  const flat = (s ?? String(value)).slice(0, 4 * max + 16).replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max)}...` : flat;
}

function parseLine(text: string): { value?: JsonObject; error?: string } {
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    return { error: `the row nests arrays/objects more than ${MAX_JSON_DEPTH} deep; rows are flat objects such as {"text": ...}` };
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { error: `invalid JSON (${(e as Error).message.slice(0, 200)}): ${preview(text)}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return { error: `expected a JSON object, found ${preview(text)}` };
  }
  return { value: v as JsonObject };
}

/** Collects rows and bad lines: one place decides between throwing and skipping. */
class RowSink {
  readonly out: JsonlResult = { rows: [], skipped: 0, skippedReasons: [] };
  constructor(
    private readonly file: string,
    private readonly opts: JsonlOptions,
  ) {}

  line(raw: string, lineNo: number): void {
    if (lineNo === 1 && raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1); // UTF-8 BOM (Windows editors)
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    if (raw.trim() === '') return;
    const parsed = parseLine(raw);
    const err = parsed.error ?? (this.opts.validate ? this.opts.validate(parsed.value!) : null);
    if (err === null || err === undefined) this.out.rows.push({ line: lineNo, value: parsed.value! });
    else if (typeof err === 'string') this.bad(lineNo, err);
    else throw new ColaError(`${this.file} line ${lineNo}: ${err.message}.`);
  }

  bad(lineNo: number, err: string): void {
    const msg = `${this.file} line ${lineNo}: ${err}`;
    if (!this.opts.skipBad) throw new ColaError(`${msg}. Fix the line, or pass --skip-bad to skip bad lines.`);
    this.out.skipped++;
    if (this.out.skippedReasons.length < 5) this.out.skippedReasons.push(msg);
  }
}

/** Parses JSONL text; `file` only labels messages. Blank lines are allowed and ignored. */
export function parseJsonl(text: string, file: string, opts: JsonlOptions = {}): JsonlResult {
  const sink = new RowSink(file, opts);
  const maxLine = opts.maxLineBytes ?? MAX_LINE_BYTES;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].length > maxLine) sink.bad(i + 1, tooLong(maxLine));
    else sink.line(lines[i], i + 1);
  }
  return sink.out;
}

function tooLong(maxLine: number): string {
  return `the line is longer than the ${maxLine}-byte limit for one row; split the document into several rows`;
}

/** Reads `file` a chunk at a time; a line over the limit is never held in memory whole. */
export function readJsonl(file: string, opts: JsonlOptions = {}): JsonlResult {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new ColaError(`cannot read ${file}: ${(e as Error).message}. Check the path (--data-dir / --train-file).`);
  }
  try {
    return readLines(fd, file, opts);
  } catch (e) {
    if (e instanceof ColaError) throw e;
    throw new ColaError(`cannot read ${file}: ${(e as Error).message}`);
  } finally {
    fs.closeSync(fd);
  }
}

function readLines(fd: number, file: string, opts: JsonlOptions): JsonlResult {
  const sink = new RowSink(file, opts);
  const maxLine = opts.maxLineBytes ?? MAX_LINE_BYTES;
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overLimit = false;
  let lineNo = 1;
  let lineHasBytes = false;
  const endLine = () => {
    if (overLimit) sink.bad(lineNo, tooLong(maxLine));
    else sink.line(Buffer.concat(pending, pendingBytes).toString('utf8'), lineNo);
    pending = [];
    pendingBytes = 0;
    overLimit = false;
    lineHasBytes = false;
    lineNo++;
  };
  for (let pos = 0; ;) {
    const n = fs.readSync(fd, chunk, 0, CHUNK_BYTES, pos);
    if (n === 0) break;
    pos += n;
    const data = chunk.subarray(0, n);
    for (let start = 0; start < n;) {
      const nl = data.indexOf(10, start);
      const end = nl === -1 ? n : nl;
      if (end > start) lineHasBytes = true;
      if (!overLimit && pendingBytes + (end - start) > maxLine) {
        overLimit = true;
        pending = [];
        pendingBytes = 0;
      }
      if (!overLimit && end > start) {
        pending.push(Buffer.from(data.subarray(start, end))); // copied: the chunk is reused
        pendingBytes += end - start;
      }
      if (nl === -1) break;
      endLine();
      start = nl + 1;
    }
  }
  if (lineHasBytes || overLimit) endLine();
  return sink.out;
}
