// The TensorBoard event writer (issue 18), read back by a decoder written here from the
// format's definition (TFRecord framing, protobuf wire format), not from the writer.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { crc32c, eventFileBytes, writeEventFile, type Scalar } from '../../src/report/tensorboard.js';
import { decodeEvents } from '../helpers/tfEvents.js';

test('crc32c matches the published CRC-32C check values', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43); // 32 bytes of ones
});

test('an event file decodes to the file version and the scalars written, in order', () => {
  const scalars: Scalar[] = [
    { tag: 'train/loss', step: 1, value: 3.25, wallTime: 0.5 },
    { tag: 'train/lr', step: 1, value: 5e-4, wallTime: 0.5 },
    { tag: 'dev/accuracy', step: 300, value: 0.8125, wallTime: 12.25 },
    { tag: 'train/loss', step: 2 ** 40 + 3, value: -1.5, wallTime: 1e9 },
  ];
  const decoded = decodeEvents(eventFileBytes(scalars));
  assert.equal(decoded.fileVersion, 'brain.Event:2');
  assert.deepEqual(
    decoded.scalars,
    scalars.map((s) => ({ ...s, value: Math.fround(s.value) })),
  );
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cola-tb-')), 'events.out.tfevents.test');
  writeEventFile(file, scalars);
  assert.deepEqual(decodeEvents(fs.readFileSync(file)).scalars.length, 4);
  assert.deepEqual(decodeEvents(eventFileBytes([])).scalars, []);
});
