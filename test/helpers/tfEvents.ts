// A reader of TensorBoard event files written from the format's definition (TFRecord
// framing with masked CRC-32C, protobuf wire format, tensorflow/core/util/event.proto),
// independent of the writer in src/report/tensorboard.ts except for the CRC (checked
// against published values in test/report/tensorboard.test.ts).
import assert from 'node:assert/strict';
import { maskedCrc32c, type Scalar } from '../../src/report/tensorboard.js';

interface Field {
  field: number;
  wire: number;
  value: number | bigint | Uint8Array;
}

/** Protobuf wire format: varint (0), fixed64 (1), length-delimited (2), fixed32 (5). */
function fields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let x = 0n;
    let shift = 0n;
    for (;;) {
      const byte = b[i++]!;
      x |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if (!(byte & 0x80)) return x;
    }
  };
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  while (i < b.length) {
    const key = Number(varint());
    const [field, wire] = [key >> 3, key & 7];
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 1) {
      out.push({ field, wire, value: view.getFloat64(i, true) });
      i += 8;
    } else if (wire === 5) {
      out.push({ field, wire, value: view.getFloat32(i, true) });
      i += 4;
    } else if (wire === 2) {
      const n = Number(varint());
      out.push({ field, wire, value: b.subarray(i, i + n) });
      i += n;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}

/** TFRecord framing, both CRCs checked. */
function records(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let i = 0;
  while (i < b.length) {
    const len = Number(view.getBigUint64(i, true));
    assert.equal(view.getUint32(i + 8, true), maskedCrc32c(b.subarray(i, i + 8)), 'length crc');
    const data = b.subarray(i + 12, i + 12 + len);
    assert.equal(view.getUint32(i + 12 + len, true), maskedCrc32c(data), 'data crc');
    out.push(data);
    i += 16 + len;
  }
  assert.equal(i, b.length, 'no trailing bytes');
  return out;
}

/** Event { 1: wall_time, 2: step, 3: file_version, 5: Summary { 1: Value { 1: tag, 2: simple_value } } } */
export function decodeEvents(b: Uint8Array): { fileVersion?: string; scalars: Scalar[] } {
  const [first, ...rest] = records(b).map(fields);
  const text = (f: Field | undefined) => new TextDecoder().decode(f!.value as Uint8Array);
  const fileVersion = text(first!.find((f) => f.field === 3));
  const scalars = rest.map((ev) => {
    const wallTime = ev.find((f) => f.field === 1)!.value as number;
    const step = Number(ev.find((f) => f.field === 2)?.value ?? 0n);
    const summary = fields(ev.find((f) => f.field === 5)!.value as Uint8Array);
    assert.equal(summary.length, 1);
    const value = fields(summary[0]!.value as Uint8Array);
    return { tag: text(value.find((f) => f.field === 1)), value: value.find((f) => f.field === 2)!.value as number, step, wallTime };
  });
  return { fileVersion, scalars };
}
