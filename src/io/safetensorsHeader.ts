/** Parsing and validation of one safetensors file's header. The file is untrusted: every
 * size and offset read from it is bounded before use, and every problem is a ColaError
 * naming the file and the tensor.
 *
 * Layout (github.com/huggingface/safetensors): u64 little-endian N, then N bytes of UTF-8
 * JSON `{ name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str} }`
 * (may be padded with trailing spaces), then the data buffer; offsets are relative to it. */
import { ColaError } from '../errors.js';
import { fileSize, jsonDepth, readExactly, withFd } from './fileIo.js';

export const DTYPE_BYTES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type SafetensorsDtype = keyof typeof DTYPE_BYTES;

/** Where one tensor lives. `byteOffset` is absolute within `file`. */
export interface TensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  byteOffset: number;
  byteLength: number;
  file: string;
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

/** The reference implementation's limit; real headers are at most a few MB. */
const MAX_HEADER_BYTES = 100 << 20;

function isDtype(x: unknown): x is SafetensorsDtype {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, x);
}

/** Read and check the header of `file` (reads only the first 8 + N bytes). */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const size = fileSize(file);
  if (size < 8) {
    throw new ColaError(
      `${file}: ${size} bytes is too short for a safetensors file (needs an 8-byte header length); the file is truncated`,
    );
  }
  const { text, headerBytes } = withFd(file, (fd) => {
    const lenBuf = Buffer.alloc(8);
    readExactly(fd, lenBuf, 0, file);
    const n = lenBuf.readBigUInt64LE(0);
    if (n > BigInt(Math.min(MAX_HEADER_BYTES, size - 8))) {
      throw new ColaError(
        `${file}: header length ${n} is past the end of the ${size}-byte file or over the ${MAX_HEADER_BYTES}-byte limit; the file is truncated or not safetensors`,
      );
    }
    const headerBuf = Buffer.alloc(Number(n));
    readExactly(fd, headerBuf, 8, file);
    return { text: decodeUtf8(file, headerBuf), headerBytes: headerBuf.length };
  });
  const dataStart = 8 + headerBytes;
  return parseHeaderJson(file, text, dataStart, size - dataStart);
}

/** Strict: a lenient decode would hide corruption behind U+FFFD replacements. */
function decodeUtf8(file: string, bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ColaError(`${file}: header is not valid UTF-8; the file is corrupt or not safetensors`);
  }
}

function parseHeaderJson(file: string, text: string, dataStart: number, dataSize: number): SafetensorsHeader {
  // a header nests 3 deep ({name: {shape: [..]}}); error messages stringify parts of it
  if (jsonDepth(text, 16) > 16)
    throw new ColaError(`${file}: header JSON is nested more than 16 levels deep; the file is corrupt or not safetensors`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ColaError(`${file}: header is not valid JSON (${(e as Error).message}); the file is corrupt or not safetensors`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ColaError(`${file}: header must be a JSON object of tensor entries`);
  }
  const dup = firstDuplicateKey(text);
  if (dup !== null) {
    throw new ColaError(
      `${file}: header names ${JSON.stringify(dup)} twice; JSON parsers keep only one of them, so which tensor you get depends on the reader. The file is corrupt or crafted: re-export it`,
    );
  }
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') metadata = parseMetadata(file, entry);
    else tensors.set(name, parseEntry(file, name, entry, dataStart, dataSize));
  }
  checkNoOverlap(file, tensors);
  return { tensors, metadata };
}

function parseMetadata(file: string, entry: unknown): Record<string, string> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new ColaError(`${file}: "__metadata__" must be an object of string values`);
  }
  for (const [k, v] of Object.entries(entry)) {
    if (typeof v !== 'string') throw new ColaError(`${file}: "__metadata__".${k} must be a string, found ${typeof v}`);
  }
  return entry as Record<string, string>;
}

function parseEntry(file: string, name: string, entry: unknown, dataStart: number, dataSize: number): TensorInfo {
  const where = `${file}: tensor "${name}"`;
  if (typeof entry !== 'object' || entry === null) throw new ColaError(`${where}: entry must be an object`);
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (!isDtype(dtype)) {
    throw new ColaError(`${where}: unknown dtype ${JSON.stringify(dtype)}; expected one of ${Object.keys(DTYPE_BYTES).join(', ')}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ColaError(`${where}: shape must be a list of non-negative integers, found ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new ColaError(`${where}: data_offsets must be [begin, end] non-negative integers, found ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  if (begin > end || end > dataSize) {
    throw new ColaError(
      `${where}: data_offsets [${begin}, ${end}] must satisfy begin <= end <= ${dataSize} (data size); the file is truncated or corrupt`,
    );
  }
  const expected = shape.reduce((a: number, d: number) => a * d, DTYPE_BYTES[dtype]);
  if (!Number.isSafeInteger(expected) || expected !== end - begin) {
    throw new ColaError(`${where}: shape [${shape.join(', ')}] of ${dtype} needs ${expected} bytes but data_offsets cover ${end - begin}`);
  }
  return { dtype, shape: shape as number[], byteOffset: dataStart + begin, byteLength: end - begin, file };
}

/** Overlapping tensors would alias each other's bytes: reject them (empty ones are fine). */
function checkNoOverlap(file: string, tensors: Map<string, TensorInfo>): void {
  const spans = [...tensors].filter(([, t]) => t.byteLength > 0).sort((a, b) => a[1].byteOffset - b[1].byteOffset);
  for (let i = 1; i < spans.length; i++) {
    const [prevName, prev] = spans[i - 1];
    const [name, cur] = spans[i];
    if (cur.byteOffset < prev.byteOffset + prev.byteLength) {
      throw new ColaError(`${file}: tensors "${prevName}" and "${name}" overlap in the data buffer; the file is corrupt`);
    }
  }
}

/** The first key that appears twice in one object of the JSON `text` (already known to
 * parse), or null. JSON.parse keeps the last silently; safetensors' own reader rejects
 * duplicates. One pass with an explicit stack: no recursion on deep nesting. */
export function firstDuplicateKey(text: string): string | null {
  const stack: (Set<string> | null)[] = []; // a Set per open object, null per open array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const keys = stack[stack.length - 1];
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (ch === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (ch === '[') {
      stack.push(null);
      expectKey = false;
    } else if (ch === '}' || ch === ']') {
      stack.pop();
      expectKey = false;
    } else if (ch === ',') expectKey = stack[stack.length - 1] instanceof Set;
  }
  return null;
}
