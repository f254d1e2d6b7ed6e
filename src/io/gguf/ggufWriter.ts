/** Write a GGUF file (version 3, little-endian): header, metadata, tensor infos, then the
 * tensor data, each tensor at a multiple of general.alignment (32 unless the metadata says
 * otherwise) with zero padding, as ggml docs/gguf.md requires. Written to a temp file and
 * renamed, so a reader never sees half a file. */
import { ColaError } from '../../errors.js';
import { writeAll, writeFileAtomic } from '../fileIo.js';
import type { GgufItem, GgufValue } from './ggufReader.js';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufValueType, type GgmlTypeInfo } from './ggufTypes.js';

export interface GgufTensorToWrite {
  name: string;
  /** ggml order: dims[0] is the row length (PyTorch shape reversed) */
  dims: number[];
  type: GgmlTypeInfo;
  /** the encoded blocks (ggufCodecs.encodeGguf, or bytes read from another file) */
  data: Uint8Array;
}

/** Growable little-endian byte buffer for the header. */
class ByteSink {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.reserve(1);
    this.view.setUint8(this.length++, v);
  }
  num(type: GgufValueType, v: number | bigint): void {
    const w: Record<number, [number, (at: number) => void]> = {
      [GgufValueType.UINT8]: [1, (at) => this.view.setUint8(at, Number(v))],
      [GgufValueType.INT8]: [1, (at) => this.view.setInt8(at, Number(v))],
      [GgufValueType.UINT16]: [2, (at) => this.view.setUint16(at, Number(v), true)],
      [GgufValueType.INT16]: [2, (at) => this.view.setInt16(at, Number(v), true)],
      [GgufValueType.UINT32]: [4, (at) => this.view.setUint32(at, Number(v), true)],
      [GgufValueType.INT32]: [4, (at) => this.view.setInt32(at, Number(v), true)],
      [GgufValueType.FLOAT32]: [4, (at) => this.view.setFloat32(at, Number(v), true)],
      [GgufValueType.UINT64]: [8, (at) => this.view.setBigUint64(at, BigInt(v), true)],
      [GgufValueType.INT64]: [8, (at) => this.view.setBigInt64(at, BigInt(v), true)],
      [GgufValueType.FLOAT64]: [8, (at) => this.view.setFloat64(at, Number(v), true)],
    };
    const [size, set] = w[type];
    this.reserve(size);
    set(this.length);
    this.length += size;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.num(GgufValueType.UINT64, b.length);
    this.bytes(b);
  }
  contents(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

function writeItem(sink: ByteSink, type: GgufValueType, v: GgufItem, where: string, itemType?: GgufValueType): void {
  if (type === GgufValueType.STRING) {
    if (typeof v !== 'string') throw new Error(`writeGguf: ${where} must be a string`);
    sink.str(v);
  } else if (type === GgufValueType.BOOL) {
    sink.u8(v ? 1 : 0);
  } else if (type === GgufValueType.ARRAY) {
    if (!Array.isArray(v) || itemType === undefined) throw new Error(`writeGguf: ${where} must be an array with an item type`);
    sink.num(GgufValueType.UINT32, itemType);
    sink.num(GgufValueType.UINT64, v.length);
    // nested arrays cannot say their own item type here; cola never writes them
    v.forEach((x, i) => writeItem(sink, itemType, x, `${where}[${i}]`));
  } else {
    if (typeof v !== 'number' && typeof v !== 'bigint') throw new Error(`writeGguf: ${where} must be a number`);
    sink.num(type, v);
  }
}

export function writeGguf(file: string, metadata: [string, GgufValue][], tensors: GgufTensorToWrite[]): void {
  const alignEntry = metadata.find(([k]) => k === 'general.alignment');
  const alignment = alignEntry ? Number(alignEntry[1].value) : GGUF_DEFAULT_ALIGNMENT;
  checkTensors(file, tensors);
  const sink = new ByteSink();
  sink.num(GgufValueType.UINT32, GGUF_MAGIC);
  sink.num(GgufValueType.UINT32, 3);
  sink.num(GgufValueType.UINT64, tensors.length);
  sink.num(GgufValueType.UINT64, metadata.length);
  for (const [key, v] of metadata) {
    sink.str(key);
    sink.num(GgufValueType.UINT32, v.type);
    writeItem(sink, v.type, v.value, key, v.type === GgufValueType.ARRAY ? v.itemType : undefined);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    offsets.push(offset);
    sink.str(t.name);
    sink.num(GgufValueType.UINT32, t.dims.length);
    for (const d of t.dims) sink.num(GgufValueType.UINT64, d);
    sink.num(GgufValueType.UINT32, t.type.id);
    sink.num(GgufValueType.UINT64, offset);
    offset = pad(offset + t.data.length, alignment);
  }
  const header = sink.contents();
  writeFileAtomic(file, (fd) => {
    writeAll(fd, header);
    writeAll(fd, new Uint8Array(pad(header.length, alignment) - header.length));
    tensors.forEach((t, i) => {
      writeAll(fd, t.data);
      // llama.cpp pads after every tensor, the last included
      const end = offsets[i] + t.data.length;
      writeAll(fd, new Uint8Array(pad(end, alignment) - end));
    });
  });
}

const pad = (n: number, alignment: number) => Math.ceil(n / alignment) * alignment;

function checkTensors(file: string, tensors: GgufTensorToWrite[]): void {
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new ColaError(`${file}: two tensors named "${t.name}"`);
    names.add(t.name);
    const n = t.dims.reduce((a, d) => a * d, 1);
    if (n % t.type.blockSize !== 0 || (n / t.type.blockSize) * t.type.typeSize !== t.data.length) {
      throw new Error(`writeGguf: tensor "${t.name}" [${t.dims.join(', ')}] ${t.type.name} has ${t.data.length} bytes of data`);
    }
  }
}
