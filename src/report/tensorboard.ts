/** TensorBoard event files, scalars only (issue 18). No maintained npm writer exists
 * (checked 2026-12: tensorboard-logger, tensorboardx, tfevents, tensorboard-writer are not
 * on npm; @tensorflow/tfjs-node's summary writer needs a libtensorflow download), so the
 * format is encoded here. An event file is a TFRecord stream of `tensorflow.Event`
 * protobufs (tensorflow/core/util/event.proto):
 *
 *   record = uint64le len | uint32le masked_crc32c(len bytes) | data | uint32le masked_crc32c(data)
 *   Event  = { 1: double wall_time, 2: int64 step, 3: string file_version | 5: Summary summary }
 *   Summary = { 1: repeated Value value },  Value = { 1: string tag, 2: float simple_value }
 *
 * The first event carries file_version "brain.Event:2", as TensorFlow's writer. */
import { writeFileAtomic, writeAll } from '../io/fileIo.js';

export interface Scalar {
  tag: string;
  step: number;
  value: number;
  /** seconds since the Unix epoch */
  wallTime: number;
}

/** The file name TensorBoard looks for ("tfevents" in the name); fixed, so a rewrite replaces it. */
export const EVENT_FILE = 'events.out.tfevents.cola';

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1; // Castagnoli, reflected
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli) of `bytes`; "123456789" gives 0xe3069283. */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC32C_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15, add a constant (so a CRC of CRCs is not trivial). */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

function varint(v: number): number[] {
  const out: number[] = [];
  let x = v;
  while (x >= 0x80) {
    out.push((x % 0x80) | 0x80);
    x = Math.floor(x / 0x80);
  }
  out.push(x);
  return out;
}

/** A length-delimited field (wire type 2). */
function lenField(field: number, payload: Uint8Array): Uint8Array {
  return concat([Uint8Array.from([(field << 3) | 2, ...varint(payload.length)]), payload]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Event fields 1 (wall_time, fixed64 double) and 2 (step, varint int64). */
function eventHead(wallTime: number, step: number): Uint8Array {
  const b = new Uint8Array(9);
  b[0] = (1 << 3) | 1;
  new DataView(b.buffer).setFloat64(1, wallTime, true);
  return concat([b, Uint8Array.from([2 << 3, ...varint(Math.max(0, Math.trunc(step)))])]);
}

function fileVersionEvent(wallTime: number): Uint8Array {
  return concat([eventHead(wallTime, 0), lenField(3, new TextEncoder().encode('brain.Event:2'))]);
}

function scalarEvent(s: Scalar): Uint8Array {
  const value = new Uint8Array(5);
  value[0] = (2 << 3) | 5; // simple_value, fixed32 float
  new DataView(value.buffer).setFloat32(1, s.value, true);
  const v = concat([lenField(1, new TextEncoder().encode(s.tag)), value]);
  return concat([eventHead(s.wallTime, s.step), lenField(5, lenField(1, v))]);
}

/** One TFRecord around `data`. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const head = new Uint8Array(12);
  const view = new DataView(head.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(head.subarray(0, 8)), true);
  const tail = new Uint8Array(4);
  new DataView(tail.buffer).setUint32(0, maskedCrc32c(data), true);
  return concat([head, data, tail]);
}

/** The bytes of an event file holding `scalars` (in order), after the file_version event. */
export function eventFileBytes(scalars: readonly Scalar[]): Uint8Array {
  const first = scalars[0]?.wallTime ?? 0;
  return concat([tfRecord(fileVersionEvent(first)), ...scalars.map((s) => tfRecord(scalarEvent(s)))]);
}

/** Write the event file atomically (a reader never sees a cut record). */
export function writeEventFile(file: string, scalars: readonly Scalar[]): void {
  writeFileAtomic(file, (fd) => writeAll(fd, eventFileBytes(scalars)));
}
