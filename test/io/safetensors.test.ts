import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../../src/errors.js';
import { openSafetensors, INDEX_FILE } from '../../src/io/safetensors.js';
import { writeSafetensors, writeShardedSafetensors, type TensorToWrite } from '../../src/io/safetensorsWriter.js';
import { f32ToBf16, f32ToF16, bf16ToF32, f16ToF32 } from '../../src/io/floatBits.js';
import { randn } from '../helpers/random.js';
import { makeTmpDir } from './tmpdir.js';

const dir = makeTmpDir('safetensors');

function sample(): TensorToWrite[] {
  const w = randn(6 * 5, 1);
  return [
    { name: 'a.weight', dtype: 'F32', shape: [6, 5], data: w },
    { name: 'b.half', dtype: 'F16', shape: [3, 2], data: f32ToF16(randn(6, 2)) },
    { name: 'c.bf16', dtype: 'BF16', shape: [7], data: f32ToBf16(randn(7, 3)) },
    { name: 'd.ids', dtype: 'I64', shape: [4], data: BigInt64Array.from([0n, -1n, 7n, 2147483647n]) },
    { name: 'e.ids32', dtype: 'I32', shape: [2, 1], data: Int32Array.from([5, -9]) },
    { name: 'f.empty', dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
    { name: 'g.scalar', dtype: 'F32', shape: [], data: Float32Array.from([3.5]) },
  ];
}

function assertSameContents(file: ReturnType<typeof openSafetensors>, tensors: TensorToWrite[]): void {
  assert.deepEqual([...file.tensors.keys()].sort(), tensors.map((t) => t.name).sort());
  for (const t of tensors) {
    const info = file.tensors.get(t.name)!;
    assert.equal(info.dtype, t.dtype);
    assert.deepEqual(info.shape, t.shape);
    const want = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    assert.deepEqual(file.readRaw(t.name), want, t.name);
  }
}

test('single file round trip keeps every dtype, shape, byte and the metadata', () => {
  const file = path.join(dir, 'single.safetensors');
  const tensors = sample();
  writeSafetensors(file, tensors, { format: 'pt', note: 'x' });
  const st = openSafetensors(file);
  assertSameContents(st, tensors);
  assert.deepEqual(st.metadata, { format: 'pt', note: 'x' });
  assert.deepEqual(st.read('a.weight'), tensors[0].data);
  assert.deepEqual(st.read('b.half'), f16ToF32(tensors[1].data as Uint16Array));
  assert.deepEqual(st.read('c.bf16', 'bf16'), tensors[2].data);
  assert.deepEqual(st.read('c.bf16', 'f32'), bf16ToF32(tensors[2].data as Uint16Array));
  assert.deepEqual(st.read('a.weight', 'bf16'), f32ToBf16(tensors[0].data as Float32Array));
  assert.deepEqual(st.readInt32('d.ids'), Int32Array.from([0, -1, 7, 2147483647]));
  assert.deepEqual(st.readInt32('e.ids32'), Int32Array.from([5, -9]));
  assert.equal(st.read('f.empty').length, 0);
  assert.deepEqual(st.read('g.scalar'), Float32Array.from([3.5]));
  // header padded to 8 bytes so the data buffer starts aligned
  const n = Number(fs.readFileSync(file).readBigUInt64LE(0));
  assert.equal(n % 8, 0);
});

test('opening a folder finds model.safetensors', () => {
  const sub = path.join(dir, 'folder');
  fs.mkdirSync(sub);
  writeSafetensors(path.join(sub, 'model.safetensors'), sample());
  assertSameContents(openSafetensors(sub), sample());
});

test('sharded round trip: several shards, index lists every tensor, reads match', () => {
  const sub = path.join(dir, 'sharded');
  const tensors = sample();
  const names = writeShardedSafetensors(sub, tensors, 64);
  assert.ok(names.length >= 3, `expected several shards, got ${names.length}`);
  assert.equal(names[0], `model-00001-of-${String(names.length).padStart(5, '0')}.safetensors`);
  const index = JSON.parse(fs.readFileSync(path.join(sub, INDEX_FILE), 'utf8'));
  assert.equal(
    index.metadata.total_size,
    tensors.reduce((a, t) => a + t.data.byteLength, 0),
  );
  assert.deepEqual(Object.keys(index.weight_map).sort(), tensors.map((t) => t.name).sort(), 'the index lists every tensor');
  assert.ok(
    Object.values(index.weight_map).every((f) => names.includes(f as string)),
    'each in a written shard',
  );
  assertSameContents(openSafetensors(sub), tensors);
  // a re-save with fewer shards removes the stale ones
  const fewer = writeShardedSafetensors(sub, tensors, 1 << 20);
  assert.equal(fewer.length, 1);
  assert.deepEqual(
    fs.readdirSync(sub).filter((f) => f.endsWith('.safetensors')),
    fewer,
  );
  assertSameContents(openSafetensors(sub), tensors);
});

test('f32 -> bf16 rounds to nearest even; f16 widening is exact', () => {
  const bits = (x: number) => f32ToBf16(Float32Array.from([x]))[0];
  const fromBits = (u: number) => new Float32Array(Uint32Array.from([u]).buffer)[0];
  assert.equal(bits(fromBits(0x3f808000)), 0x3f80); // tie, even stays
  assert.equal(bits(fromBits(0x3f818000)), 0x3f82); // tie, odd rounds up
  assert.equal(bits(fromBits(0x3f808001)), 0x3f81); // above half
  assert.ok(Number.isNaN(bf16ToF32(Uint16Array.from([bits(NaN)]))[0]));
  const halves = Uint16Array.from([0x0001, 0x03ff, 0x3c00, 0xc000, 0x7bff, 0x7c00, 0x8000]);
  assert.deepEqual(f16ToF32(halves), Float32Array.from([2 ** -24, 1023 * 2 ** -24, 1, -2, 65504, Infinity, -0]));
  assert.deepEqual(f32ToF16(f16ToF32(halves)), halves);
});

/** Build a file from a header object and a data buffer, optionally with a lying length. */
function rawFile(name: string, header: unknown, data: Uint8Array, headerLen?: bigint): string {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const body = Buffer.from(text, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLen ?? BigInt(body.length));
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.concat([len, body, data]));
  return file;
}

const f32Entry = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

function assertRejected(file: string, pattern: RegExp): void {
  assert.throws(
    () => openSafetensors(file),
    (e: unknown) => e instanceof ColaError && e.message.includes(file) && pattern.test(e.message),
  );
}

test('malformed files are rejected with a ColaError naming the file', () => {
  const good = path.join(dir, 'good.safetensors');
  writeSafetensors(good, sample());
  const bytes = fs.readFileSync(good);
  const cases: [string, string, RegExp][] = [
    ['empty', rawFileBytes('empty', Buffer.alloc(0)), /too short/],
    ['truncated data', rawFileBytes('trunc', bytes.subarray(0, bytes.length - 3)), /data_offsets|truncated/],
    ['header past EOF', rawFile('past.safetensors', {}, new Uint8Array(0), 1000n), /past the end/],
    ['huge header length', rawFile('huge.safetensors', {}, new Uint8Array(0), 1n << 62n), /past the end/],
    ['bad json', rawFile('badjson.safetensors', '{"a": [', new Uint8Array(0)), /not valid JSON/],
    ['not an object', rawFile('array.safetensors', '[1,2]', new Uint8Array(0)), /JSON object/],
    [
      'unknown dtype',
      rawFile('dtype.safetensors', { x: { dtype: 'F48', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      /"x".*unknown dtype/,
    ],
    [
      'bad shape',
      rawFile('shape.safetensors', { x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      /"x".*shape/,
    ],
    ['shape/length mismatch', rawFile('mismatch.safetensors', { x: f32Entry(0, 8, [3]) }, new Uint8Array(8)), /"x".*needs 12 bytes/],
    ['offsets past end', rawFile('offsets.safetensors', { x: f32Entry(0, 16) }, new Uint8Array(8)), /"x".*data_offsets/],
    [
      'begin > end',
      rawFile('reversed.safetensors', { x: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, new Uint8Array(8)),
      /"x".*begin <= end/,
    ],
    ['overlap', rawFile('overlap.safetensors', { x: f32Entry(0, 8), y: f32Entry(4, 12) }, new Uint8Array(12)), /"x" and "y" overlap/],
    ['bad metadata', rawFile('meta.safetensors', { __metadata__: { a: 1 } }, new Uint8Array(0)), /__metadata__/],
  ];
  for (const [label, file, pattern] of cases) {
    assert.doesNotThrow(() => assertRejected(file, pattern), label);
  }
  // the process is still healthy: a good file opens and reads after all of those
  assertSameContents(openSafetensors(good), sample());
});

function rawFileBytes(name: string, b: Uint8Array): string {
  const file = path.join(dir, `${name}.safetensors`);
  fs.writeFileSync(file, b);
  return file;
}

test('sharded folder problems are rejected: missing shard, tensor not in shard, escaping name', () => {
  const sub = path.join(dir, 'broken-shards');
  const names = writeShardedSafetensors(sub, sample(), 64);
  const indexFile = path.join(sub, INDEX_FILE);
  const index = JSON.parse(fs.readFileSync(indexFile, 'utf8'));

  fs.renameSync(path.join(sub, names[1]), path.join(sub, 'moved'));
  assertRejected(indexFile, /missing/);
  fs.renameSync(path.join(sub, 'moved'), path.join(sub, names[1]));

  fs.writeFileSync(indexFile, JSON.stringify({ weight_map: { ...index.weight_map, ghost: names[0] } }));
  assertRejected(indexFile, /"ghost"/);
  fs.writeFileSync(indexFile, JSON.stringify({ weight_map: { x: '../outside.safetensors' } }));
  assertRejected(indexFile, /plain shard file name/);
  fs.writeFileSync(indexFile, JSON.stringify({ nothing: 1 }));
  assertRejected(indexFile, /weight_map/);
});

test('reading an unknown tensor or a non-float as float is a ColaError', () => {
  const file = path.join(dir, 'kinds.safetensors');
  writeSafetensors(file, sample());
  const st = openSafetensors(file);
  assert.throws(() => st.read('nope'), ColaError);
  assert.throws(() => st.read('d.ids'), /readInt32/);
  assert.throws(() => st.readInt32('a.weight'), ColaError);
});

test('the writer refuses data whose length does not match the shape, leaving no file', () => {
  const file = path.join(dir, 'refused.safetensors');
  assert.throws(() => writeSafetensors(file, [{ name: 'x', dtype: 'F32', shape: [3], data: new Float32Array(2) }]), ColaError);
  assert.equal(fs.existsSync(file), false);
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
  );
});

test('a header with invalid UTF-8 is rejected; a valid multi-byte tensor name is fine', () => {
  const bad = rawFile('utf8.safetensors', '{"\xff": 1}', new Uint8Array(0));
  // rawFile encodes as UTF-8, so patch in a raw 0xff byte
  const b = fs.readFileSync(bad);
  b[8 + 2] = 0xff;
  fs.writeFileSync(bad, b);
  assertRejected(bad, /UTF-8/);
  const file = path.join(dir, 'unicode.safetensors');
  const t: TensorToWrite[] = [{ name: 'größe.wéight', dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) }];
  writeSafetensors(file, t);
  assertSameContents(openSafetensors(file), t);
});
