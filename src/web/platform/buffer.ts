// The part of Node's Buffer the library uses (io/safetensorsHeader.ts, data/jsonl.ts,
// io/llama2cHeader.ts, io/safetensorsWriter.ts), for the browser bundle: a Uint8Array
// with utf8 text and little-endian integer reads. Installed as globalThis.Buffer by
// globals.ts (esbuild `inject`).

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

export class Buffer extends Uint8Array {
  static alloc(n: number): Buffer {
    return new Buffer(n);
  }
  static allocUnsafe(n: number): Buffer {
    return new Buffer(n);
  }
  // `encoding` is unknown to stay compatible with Uint8Array.from's mapfn (never passed here)
  static override from(value: string | ArrayLike<number> | Iterable<number> | ArrayBuffer, encoding?: unknown): Buffer {
    if (typeof value === 'string') {
      if (encoding !== undefined && encoding !== 'utf8' && encoding !== 'utf-8')
        throw new Error(`Buffer.from: only utf8 in the browser, got ${String(encoding)}`);
      const bytes = encoder.encode(value);
      const b = new Buffer(bytes.length);
      b.set(bytes);
      return b;
    }
    if (value instanceof ArrayBuffer) return new Buffer(value);
    const items = 'length' in value ? (value as ArrayLike<number>) : Array.from(value as Iterable<number>);
    const b = new Buffer(items.length);
    b.set(items);
    return b;
  }
  static concat(list: readonly Uint8Array[], total?: number): Buffer {
    const n = total ?? list.reduce((s, x) => s + x.length, 0);
    const out = new Buffer(n);
    let at = 0;
    for (const x of list) {
      if (at >= n) break;
      const part = x.subarray(0, n - at);
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
  static byteLength(s: string): number {
    return encoder.encode(s).length;
  }
  static isBuffer(x: unknown): x is Buffer {
    return x instanceof Buffer;
  }
  override toString(encoding?: string): string {
    if (encoding !== undefined && encoding !== 'utf8' && encoding !== 'utf-8') throw new Error(`Buffer.toString: only utf8 in the browser`);
    return decoder.decode(this);
  }
  private view(): DataView {
    return new DataView(this.buffer, this.byteOffset, this.byteLength);
  }
  readUInt32LE(at = 0): number {
    return this.view().getUint32(at, true);
  }
  readInt32LE(at = 0): number {
    return this.view().getInt32(at, true);
  }
  readBigUInt64LE(at = 0): bigint {
    return this.view().getBigUint64(at, true);
  }
  writeBigUInt64LE(v: bigint, at = 0): number {
    this.view().setBigUint64(at, v, true);
    return at + 8;
  }
  writeUInt32LE(v: number, at = 0): number {
    this.view().setUint32(at, v, true);
    return at + 4;
  }
  write(s: string, at = 0): number {
    const bytes = encoder.encode(s);
    this.set(bytes.subarray(0, this.length - at), at);
    return Math.min(bytes.length, this.length - at);
  }
  readUInt8(at = 0): number {
    return this.view().getUint8(at);
  }
  copy(target: Uint8Array, targetStart = 0, sourceStart = 0, sourceEnd = this.length): number {
    const part = this.subarray(sourceStart, Math.min(sourceEnd, sourceStart + target.length - targetStart));
    target.set(part, targetStart);
    return part.length;
  }
}
