/** Lazy reading of safetensors checkpoints: a single file or a sharded folder
 * (`model.safetensors.index.json` with a `weight_map`). Opening reads only headers;
 * `read` reads one tensor at a time with positioned reads. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../errors.js';
import { assertLittleEndianHost, readExactly, readJsonObject, withFd } from './fileIo.js';
import { bf16ToF32, f16ToF32, f32ToBf16 } from './floatBits.js';
import { checkMemory } from './memory.js';
import { DTYPE_BYTES, readSafetensorsHeader, type SafetensorsDtype, type TensorInfo } from './safetensorsHeader.js';

export { DTYPE_BYTES, type SafetensorsDtype, type TensorInfo } from './safetensorsHeader.js';

export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';

export interface SafetensorsFile {
  /** What was opened: a .safetensors file or an index.json. */
  path: string;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Floats as f32 (F16/BF16/F64 widened or narrowed) or as bf16 bit patterns (RNE). */
  read(name: string, as?: 'f32'): Float32Array;
  read(name: string, as: 'bf16'): Uint16Array;
  /** Like read, but into caller-owned storage of the right length (e.g. backend memory),
   * reading the file straight into it when the stored dtype is already the one wanted. */
  readInto(name: string, out: Float32Array | Uint16Array): void;
  /** Integer tensors (I32, I64 within int32 range, I16, U16, I8, U8, BOOL) as int32. */
  readInt32(name: string): Int32Array;
  /** The tensor's bytes exactly as stored. */
  readRaw(name: string): Uint8Array;
}

export interface OpenOptions {
  /** Bytes one read may allocate (default: the memory available at the time of the read). */
  maxMemory?: number;
}

/** Open `p`: a .safetensors file, an index.json, or a folder holding either. Only the
 * headers are read; nothing is allocated for tensors until a read. */
export function openSafetensors(p: string, opts: OpenOptions = {}): SafetensorsFile {
  assertLittleEndianHost();
  const target = resolveTarget(p);
  if (target.endsWith('.index.json')) return fromHeader(target, readShardedHeader(target), opts);
  return fromHeader(target, readSafetensorsHeader(target), opts);
}

/** Bytes the tensors take once loaded as `bytesPerElement` each (4: f32, 2: bf16). */
export function loadedBytes(tensors: Map<string, TensorInfo>, bytesPerElement: (t: TensorInfo) => number): number {
  let sum = 0;
  for (const t of tensors.values()) sum += (t.byteLength / DTYPE_BYTES[t.dtype]) * bytesPerElement(t);
  return sum;
}

function resolveTarget(p: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new ColaError(`${p}: not found; expected a .safetensors file, a ${INDEX_FILE}, or a folder holding one`);
  }
  if (!st.isDirectory()) return p;
  for (const name of [INDEX_FILE, SINGLE_FILE]) {
    if (fs.existsSync(path.join(p, name))) return path.join(p, name);
  }
  throw new ColaError(`${p}: folder holds neither ${INDEX_FILE} nor ${SINGLE_FILE}`);
}

/** Check the index, then every shard's header, and that each mapped tensor is in its shard.
 * Lists every missing tensor at once. */
function readShardedHeader(indexFile: string) {
  const index = readJsonObject(indexFile);
  const weightMap = index.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new ColaError(`${indexFile}: expected a "weight_map" object mapping tensor names to shard files`);
  }
  const dir = path.dirname(indexFile);
  const shards = new Map<string, Map<string, TensorInfo>>();
  const tensors = new Map<string, TensorInfo>();
  const missing: string[] = [];
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    const shardFile = shardPath(indexFile, dir, name, shard);
    if (!shards.has(shardFile)) shards.set(shardFile, readSafetensorsHeader(shardFile).tensors);
    const info = shards.get(shardFile)!.get(name);
    if (info) tensors.set(name, info);
    else missing.push(`"${name}" (in ${path.basename(shardFile)})`);
  }
  if (missing.length > 0) {
    throw new ColaError(`${indexFile}: weight_map lists tensors missing from their shard: ${missing.join(', ')}`);
  }
  const metadata: Record<string, string> = {};
  const meta = index.metadata;
  if (typeof meta === 'object' && meta !== null) {
    for (const [k, v] of Object.entries(meta)) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return { tensors, metadata };
}

/** Shard names come from an untrusted file: allow only plain names inside the folder. */
function shardPath(indexFile: string, dir: string, name: string, shard: unknown): string {
  if (typeof shard !== 'string' || shard === '' || shard !== path.basename(shard) || shard === '..' || shard === '.') {
    throw new ColaError(
      `${indexFile}: weight_map["${name}"] must be a plain shard file name in the same folder, found ${JSON.stringify(shard)}`,
    );
  }
  const file = path.join(dir, shard);
  if (!fs.existsSync(file)) {
    throw new ColaError(`${indexFile}: shard file ${file} (for tensor "${name}") is missing; download every shard listed in the index`);
  }
  return file;
}

function fromHeader(
  target: string,
  header: { tensors: Map<string, TensorInfo>; metadata: Record<string, string> },
  opts: OpenOptions,
): SafetensorsFile {
  /** The tensor, once what reading it allocates fits: its stored bytes plus an f32 copy
   * (the most a converting read allocates), or nothing when it reads straight into
   * caller-owned storage. */
  const info = (name: string, allocates = true): TensorInfo => {
    const t = header.tensors.get(name);
    if (!t) throw new ColaError(`${target}: no tensor named "${name}"`);
    if (allocates) {
      const need = t.byteLength + (t.byteLength / DTYPE_BYTES[t.dtype]) * 4;
      checkMemory(need, `${t.file}: reading tensor "${name}" [${t.shape.join(', ')}] ${t.dtype}`, opts.maxMemory);
    }
    return t;
  };
  const read = ((name: string, as: 'f32' | 'bf16' = 'f32') => readFloat(info(name), name, as)) as SafetensorsFile['read'];
  const readsDirect = (t: TensorInfo | undefined, out: Float32Array | Uint16Array) =>
    (t?.dtype === 'BF16' && out instanceof Uint16Array) || (t?.dtype === 'F32' && out instanceof Float32Array);
  return {
    path: target,
    tensors: header.tensors,
    metadata: header.metadata,
    read,
    readInto: (name, out) => readFloatInto(info(name, !readsDirect(header.tensors.get(name), out)), name, out),
    readInt32: (name) => readInt(info(name), name),
    readRaw: (name) => readInto(info(name), Uint8Array),
  };
}

type ArrayCtor<T> = { new (length: number): T; BYTES_PER_ELEMENT: number };

function readInto<T extends ArrayBufferView>(t: TensorInfo, ctor: ArrayCtor<T>): T {
  const out = new ctor(t.byteLength / ctor.BYTES_PER_ELEMENT);
  withFd(t.file, (fd) => readExactly(fd, out, t.byteOffset, t.file));
  return out;
}

function readFloatInto(t: TensorInfo, name: string, out: Float32Array | Uint16Array): void {
  const n = t.byteLength / DTYPE_BYTES[t.dtype];
  if (out.length !== n) throw new Error(`readInto "${name}": storage holds ${out.length} elements, the tensor ${n}`);
  const direct = (t.dtype === 'BF16' && out instanceof Uint16Array) || (t.dtype === 'F32' && out instanceof Float32Array);
  if (direct) withFd(t.file, (fd) => readExactly(fd, out, t.byteOffset, t.file));
  else out.set(readFloat(t, name, out instanceof Uint16Array ? 'bf16' : 'f32'));
}

function readFloat(t: TensorInfo, name: string, as: 'f32' | 'bf16'): Float32Array | Uint16Array {
  if (t.dtype === 'BF16') {
    const bits = readInto(t, Uint16Array);
    return as === 'bf16' ? bits : bf16ToF32(bits);
  }
  const f32 = readAsF32(t, name);
  return as === 'bf16' ? f32ToBf16(f32) : f32;
}

function readAsF32(t: TensorInfo, name: string): Float32Array {
  switch (t.dtype) {
    case 'F32':
      return readInto(t, Float32Array);
    case 'F16':
      return f16ToF32(readInto(t, Uint16Array));
    case 'F64':
      return Float32Array.from(readInto(t, Float64Array));
    default:
      throw new ColaError(`${t.file}: tensor "${name}" has dtype ${t.dtype}, not a float type; read it with readInt32 or readRaw`);
  }
}

const INT_CTORS: Partial<Record<SafetensorsDtype, ArrayCtor<ArrayLike<number> & ArrayBufferView>>> = {
  I32: Int32Array,
  I16: Int16Array,
  U16: Uint16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

function readInt(t: TensorInfo, name: string): Int32Array {
  if (t.dtype === 'I64') return narrowI64(t, name, readInto(t, BigInt64Array));
  const ctor = INT_CTORS[t.dtype];
  if (!ctor) throw new ColaError(`${t.file}: tensor "${name}" has dtype ${t.dtype}, which readInt32 does not convert`);
  const raw = readInto(t, ctor);
  return raw instanceof Int32Array ? raw : Int32Array.from(raw);
}

function narrowI64(t: TensorInfo, name: string, raw: BigInt64Array): Int32Array {
  const out = new Int32Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i];
    if (v > 2147483647n || v < -2147483648n) {
      throw new ColaError(`${t.file}: tensor "${name}" element ${i} = ${v} does not fit in int32`);
    }
    out[i] = Number(v);
  }
  return out;
}
