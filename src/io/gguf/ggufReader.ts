/** Read a GGUF file's header: version, metadata key-values and tensor infos (ggml
 * docs/gguf.md, container versions 1 to 3). The file is untrusted: every count, length,
 * dimension and offset is checked against the bytes that remain before anything is
 * allocated, and an error names the file, the field and the byte where it broke.
 * Tensor data is read later, one tensor at a time (readGgufTensorBytes). */
import { ColaError } from '../../errors.js';
import { assertLittleEndianHost, fileSize, readExactly, withFd } from '../fileIo.js';
import { checkMemory } from '../memory.js';
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_DIMS,
  GgufValueType,
  VALUE_BYTES,
  describeGgmlType,
  ggmlType,
  READABLE_TYPES,
  type GgmlTypeInfo,
} from './ggufTypes.js';

/** A metadata value with its GGUF type, so a writer can reproduce it exactly. Integers
 * of 64 bits are numbers when safe, else bigint; arrays carry their item type. */
export type GgufScalar = number | bigint | boolean | string;
export type GgufItem = GgufScalar | GgufItem[];
export type GgufValue =
  | { type: Exclude<GgufValueType, GgufValueType.ARRAY>; value: GgufScalar }
  | { type: GgufValueType.ARRAY; itemType: GgufValueType; value: GgufItem[] };

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] (ne0) is the contiguous row length, the reverse of a PyTorch shape */
  dims: number[];
  type: GgmlTypeInfo;
  /** absolute byte offset in the file */
  offset: number;
  byteLength: number;
  elements: number;
}

export interface GgufFile {
  path: string;
  version: number;
  alignment: number;
  metadata: Map<string, GgufValue>;
  tensors: Map<string, GgufTensorInfo>;
  /** absolute offset of the tensor data section */
  dataOffset: number;
}

const MAX_KEY_BYTES = 65535; // the spec's limit on a key
const MAX_ARRAY_DEPTH = 4;
/** A vocabulary has at most a few 100k entries; a bigger array is not worth the memory. */
const MAX_ARRAY_ITEMS = 1 << 24;
const MAX_NAME_BYTES = 64 << 10;
/** Header bytes read per refill: a Llama-3 vocabulary is ~8 MB of strings. */
const CHUNK = 1 << 20;

/** Sequential reads over a file descriptor with a byte budget equal to the file size. */
class Cursor {
  private buf = new Uint8Array(0);
  private bufStart = 0;
  pos = 0;

  constructor(
    private readonly fd: number,
    readonly file: string,
    readonly size: number,
  ) {}

  remaining(): number {
    return this.size - this.pos;
  }

  /** The next n bytes (a view valid until the next call), or a truncation error naming `field`. */
  take(n: number, field: string): Uint8Array {
    if (n > this.remaining()) {
      throw new ColaError(
        `${this.file}: ${field} at byte ${this.pos} needs ${n} bytes but the file ends at byte ${this.size}; the GGUF file is truncated or its header lies (re-download or re-export it)`,
      );
    }
    const end = this.pos + n;
    if (this.pos < this.bufStart || end > this.bufStart + this.buf.length) {
      const len = Math.min(Math.max(n, CHUNK), this.size - this.pos);
      this.buf = new Uint8Array(len);
      readExactly(this.fd, this.buf, this.pos, this.file);
      this.bufStart = this.pos;
    }
    const at = this.pos - this.bufStart;
    this.pos = end;
    return this.buf.subarray(at, at + n);
  }

  view(n: number, field: string): DataView {
    const b = this.take(n, field);
    return new DataView(b.buffer, b.byteOffset, n);
  }
  u32(field: string): number {
    return this.view(4, field).getUint32(0, true);
  }
  /** A u64 that must fit a JS number (every count, length and offset here). */
  u64(field: string): number {
    const v = this.view(8, field).getBigUint64(0, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.error(field, `${v} is beyond any real file`);
    return Number(v);
  }
  error(field: string, problem: string, at = this.pos): ColaError {
    return new ColaError(`${this.file}: ${field} (byte ${at}): ${problem}; the GGUF file is truncated, corrupt or crafted`);
  }
}

/** Version 1 stored counts, lengths and dims as uint32; versions 2 and 3 as uint64. */
interface LenReader {
  (field: string): number;
  /** bytes of one length field: 4 in version 1, else 8 */
  bytes: number;
}

function sizeReader(c: Cursor, version: number): LenReader {
  const read = version === 1 ? (f: string) => c.u32(f) : (f: string) => c.u64(f);
  return Object.assign(read, { bytes: version === 1 ? 4 : 8 });
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function readString(c: Cursor, len: LenReader, field: string, maxBytes = Infinity): string {
  const at = c.pos;
  const n = len(`${field} length`);
  if (n > maxBytes) throw c.error(`${field} length`, `${n} bytes is over the ${maxBytes}-byte limit`, at);
  const bytes = c.take(n, field);
  try {
    return decoder.decode(bytes);
  } catch {
    throw c.error(field, 'not valid UTF-8', at);
  }
}

function readScalar(c: Cursor, type: GgufValueType, len: LenReader, field: string): GgufScalar {
  if (type === GgufValueType.STRING) return readString(c, len, field);
  const size = VALUE_BYTES[type];
  if (size === undefined) throw c.error(field, `value type ${type} is not a GGUF metadata type (0..12)`);
  const v = c.view(size, field);
  switch (type) {
    case GgufValueType.UINT8:
      return v.getUint8(0);
    case GgufValueType.INT8:
      return v.getInt8(0);
    case GgufValueType.UINT16:
      return v.getUint16(0, true);
    case GgufValueType.INT16:
      return v.getInt16(0, true);
    case GgufValueType.UINT32:
      return v.getUint32(0, true);
    case GgufValueType.INT32:
      return v.getInt32(0, true);
    case GgufValueType.FLOAT32:
      return v.getFloat32(0, true);
    case GgufValueType.BOOL: {
      const b = v.getUint8(0);
      if (b > 1) throw c.error(field, `a bool must be 0 or 1, found ${b}`, c.pos - 1);
      return b === 1;
    }
    case GgufValueType.UINT64:
      return safeNumber(v.getBigUint64(0, true));
    case GgufValueType.INT64:
      return safeNumber(v.getBigInt64(0, true));
    default:
      return v.getFloat64(0, true);
  }
}

const safeNumber = (v: bigint): number | bigint =>
  v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;

function readValue(c: Cursor, type: number, len: LenReader, field: string, depth: number): GgufValue {
  if (type !== GgufValueType.ARRAY) {
    if (type > GgufValueType.FLOAT64) throw c.error(`${field} type`, `value type ${type} is not a GGUF metadata type (0..12)`, c.pos - 4);
    return { type, value: readScalar(c, type, len, field) } as GgufValue;
  }
  if (depth >= MAX_ARRAY_DEPTH) throw c.error(field, `arrays nested deeper than ${MAX_ARRAY_DEPTH}`);
  const itemType = c.u32(`${field} item type`);
  if (itemType > GgufValueType.FLOAT64)
    throw c.error(`${field} item type`, `value type ${itemType} is not a GGUF metadata type (0..12)`, c.pos - 4);
  const at = c.pos;
  const n = len(`${field} length`);
  // every item takes at least its fixed size (a string at least its length field)
  const minItem = VALUE_BYTES[itemType as GgufValueType] ?? (itemType === GgufValueType.STRING ? len.bytes : 4 + len.bytes);
  if (n > MAX_ARRAY_ITEMS) throw c.error(`${field} length`, `${n} items is over the limit of ${MAX_ARRAY_ITEMS}`, at);
  if (n * minItem > c.remaining()) {
    throw c.error(`${field} length`, `${n} items of at least ${minItem} bytes each do not fit in the ${c.remaining()} bytes left`, at);
  }
  const items: GgufItem[] = new Array(n);
  for (let i = 0; i < n; i++) items[i] = readValue(c, itemType, len, `${field}[${i}]`, depth + 1).value;
  return { type: GgufValueType.ARRAY, itemType, value: items };
}

export function readGgufHeader(file: string): GgufFile {
  assertLittleEndianHost();
  const size = fileSize(file);
  return withFd(file, (fd) => parseHeader(new Cursor(fd, file, size)));
}

function parseHeader(c: Cursor): GgufFile {
  const magic = c.u32('magic');
  if (magic !== GGUF_MAGIC) {
    throw new ColaError(`${c.file}: does not start with "GGUF" (found bytes ${hex(magic)}); not a GGUF file`);
  }
  const version = c.u32('version');
  if (version < 1 || version > 3) {
    throw new ColaError(
      `${c.file}: GGUF version ${version} is not supported (cola reads versions 1 to 3${version > 0x00ffffff ? '; a byte-swapped version means a big-endian file, which cola does not read' : ''})`,
    );
  }
  const len = sizeReader(c, version);
  const tensorCount = boundedCount(c, len, 'tensor_count', 24);
  const kvCount = boundedCount(c, len, 'metadata_kv_count', 9);
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const at = c.pos;
    const key = readString(c, len, `metadata key ${i}`, MAX_KEY_BYTES);
    if (metadata.has(key)) throw c.error(`metadata key ${i}`, `duplicate key "${key}"`, at);
    const type = c.u32(`metadata "${key}" type`);
    metadata.set(key, readValue(c, type, len, `metadata "${key}"`, 0));
  }
  const alignment = alignmentOf(c, metadata);
  const infos: { name: string; dims: number[]; type: GgmlTypeInfo; rel: number; at: number }[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const at = c.pos;
    const name = readString(c, len, `tensor info ${i} name`, MAX_NAME_BYTES);
    if (names.has(name)) throw c.error(`tensor info ${i} name`, `duplicate tensor "${name}"`, at);
    names.add(name);
    const nDims = c.u32(`tensor "${name}" n_dimensions`);
    if (nDims < 1 || nDims > GGUF_MAX_DIMS)
      throw c.error(`tensor "${name}" n_dimensions`, `${nDims} is outside 1..${GGUF_MAX_DIMS}`, c.pos - 4);
    const dims = Array.from({ length: nDims }, (_, d) => len(`tensor "${name}" dimension ${d}`));
    const typeId = c.u32(`tensor "${name}" type`);
    const type = ggmlType(typeId);
    if (!type) {
      throw new ColaError(
        `${c.file}: tensor "${name}" has ggml ${describeGgmlType(typeId)}, which cola cannot read; supported: ${READABLE_TYPES.join(', ')}. Re-quantize it (llama.cpp's llama-quantize) to one of them.`,
      );
    }
    const rel = c.u64(`tensor "${name}" offset`);
    infos.push({ name, dims, type, rel, at });
  }
  const dataOffset = alignUp(c.pos, alignment);
  if (tensorCount > 0 && dataOffset > c.size)
    throw c.error('tensor data section', `starts at byte ${dataOffset}, past the end of the file`);
  const tensors = new Map<string, GgufTensorInfo>();
  for (const t of infos) tensors.set(t.name, tensorInfo(c, t, alignment, dataOffset));
  checkNoOverlap(c, [...tensors.values()]);
  return { path: c.file, version, alignment, metadata, tensors, dataOffset };
}

/** A count whose items take at least `minBytes` each must fit in what is left of the file. */
function boundedCount(c: Cursor, len: LenReader, field: string, minBytes: number): number {
  const at = c.pos;
  const n = len(field);
  if (n * minBytes > c.remaining()) {
    throw c.error(field, `${n} entries of at least ${minBytes} bytes each cannot fit in the ${c.remaining()} bytes left`, at);
  }
  return n;
}

function alignmentOf(c: Cursor, metadata: Map<string, GgufValue>): number {
  const a = metadata.get('general.alignment');
  if (a === undefined) return GGUF_DEFAULT_ALIGNMENT;
  const v = a.value;
  // llama.cpp requires a power of two; the spec a multiple of 8
  if (a.type !== GgufValueType.UINT32 || typeof v !== 'number' || v < 8 || v > 1 << 20 || (v & (v - 1)) !== 0) {
    throw new ColaError(
      `${c.file}: general.alignment must be a uint32 power of two from 8 to 2^20, found ${String(v)}; the GGUF file is corrupt`,
    );
  }
  return v;
}

function tensorInfo(
  c: Cursor,
  t: { name: string; dims: number[]; type: GgmlTypeInfo; rel: number; at: number },
  alignment: number,
  dataOffset: number,
): GgufTensorInfo {
  const where = `tensor "${t.name}"`;
  let elements = 1;
  for (const d of t.dims) {
    elements *= d;
    if (!Number.isSafeInteger(elements)) throw c.error(`${where} dimensions`, `[${t.dims.join(', ')}] overflow`, t.at);
  }
  // ggml requires whole blocks per row; the 2023 quantizer also blocked whole tensors as
  // one flat stream (a row of 172 in a Q8_0 file), which is read as such
  if (elements % t.type.blockSize !== 0) {
    throw c.error(
      `${where} dimensions`,
      `[${t.dims.join(', ')}] hold ${elements} values, not a whole number of ${t.type.name} blocks of ${t.type.blockSize}`,
      t.at,
    );
  }
  const byteLength = (elements / t.type.blockSize) * t.type.typeSize;
  if (t.rel % alignment !== 0) throw c.error(`${where} offset`, `${t.rel} is not a multiple of general.alignment ${alignment}`, t.at);
  const offset = dataOffset + t.rel;
  if (offset + byteLength > c.size) {
    throw c.error(
      `${where} offset`,
      `its ${byteLength} bytes at data offset ${t.rel} (byte ${offset}) run past the end of the file (${c.size} bytes)`,
      t.at,
    );
  }
  return { name: t.name, dims: t.dims, type: t.type, offset, byteLength, elements };
}

function checkNoOverlap(c: Cursor, tensors: GgufTensorInfo[]): void {
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const [prev, cur] = [sorted[i - 1], sorted[i]];
    if (cur.offset < prev.offset + prev.byteLength) {
      throw new ColaError(
        `${c.file}: tensors "${prev.name}" and "${cur.name}" overlap in the data section; the GGUF file is corrupt or crafted`,
      );
    }
  }
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

const hex = (u: number) => [0, 8, 16, 24].map((s) => ((u >>> s) & 0xff).toString(16).padStart(2, '0')).join(' ');

/** The raw bytes of one tensor (its blocks exactly as stored). */
export function readGgufTensorBytes(g: GgufFile, name: string): Uint8Array {
  const t = g.tensors.get(name);
  if (!t) throw new ColaError(`${g.path}: no tensor "${name}"`);
  checkMemory(t.byteLength, `${g.path}: tensor "${name}" [${t.dims.join(', ')}] ${t.type.name}`);
  const bytes = new Uint8Array(t.byteLength);
  withFd(g.path, (fd) => readExactly(fd, bytes, t.offset, g.path));
  return bytes;
}

/** A metadata value, checked to be of one of `types`; undefined when absent. */
export function metaValue(g: GgufFile, key: string, kind: 'number' | 'string' | 'boolean'): number | string | boolean | undefined {
  const v = g.metadata.get(key);
  if (v === undefined) return undefined;
  if (v.type === GgufValueType.ARRAY || typeof v.value !== kind) {
    throw new ColaError(`${g.path}: metadata "${key}" must be a ${kind}, found ${describeValue(v)}`);
  }
  return v.value as number | string | boolean;
}

export function describeValue(v: GgufValue): string {
  if (v.type === GgufValueType.ARRAY) return `an array of ${v.value.length} items of type ${GgufValueType[v.itemType]}`;
  return `${GgufValueType[v.type]} ${JSON.stringify(typeof v.value === 'bigint' ? String(v.value) : v.value)}`;
}
