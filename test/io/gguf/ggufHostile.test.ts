// Truncated and lying GGUF headers: every one is a ColaError naming the file and the field,
// never a RangeError, a huge allocation or a read past the end (issue 17).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../../../src/errors.js';
import { encodeGguf } from '../../../src/io/gguf/ggufCodecs.js';
import { readGgufHeader } from '../../../src/io/gguf/ggufReader.js';
import { GgufValueType, ggmlTypeByName } from '../../../src/io/gguf/ggufTypes.js';
import { writeGguf } from '../../../src/io/gguf/ggufWriter.js';
import { makeTmpDir } from '../tmpdir.js';
import { GGUF_BLOCK_CODEC } from '../../../src/models/ggufBlockCodec.js';

const dir = makeTmpDir('gguf-hostile');
const good = path.join(dir, 'good.gguf');
const q8 = ggmlTypeByName('Q8_0');
writeGguf(
  good,
  [
    ['general.architecture', { type: GgufValueType.STRING, value: 'llama' }],
    ['general.flag', { type: GgufValueType.BOOL, value: true }],
    ['test.list', { type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value: ['a', 'bc'] }],
  ],
  [
    { name: 'tensor.alpha', dims: [32, 2], type: q8, data: encodeGguf(q8, new Float32Array(64).fill(0.5), GGUF_BLOCK_CODEC) },
    {
      name: 'tensor.beta',
      dims: [3],
      type: ggmlTypeByName('F32'),
      data: encodeGguf(ggmlTypeByName('F32'), Float32Array.of(1, 2, 3), GGUF_BLOCK_CODEC),
    },
  ],
);
const bytes = fs.readFileSync(good);
const headerEnd = readGgufHeader(good).dataOffset;
/** The last tensor byte: only the alignment padding after it may be missing. */
const dataEnd = Math.max(...[...readGgufHeader(good).tensors.values()].map((t) => t.offset + t.byteLength));

/** Where a string's bytes start (its u64 length is 8 bytes before). */
const find = (s: string) => {
  const at = bytes.indexOf(Buffer.from(s));
  assert.ok(at > 0, s);
  return at;
};
/** Byte offsets of tensor.alpha's info fields: name, n_dims, dims, type, offset. */
const alpha = find('tensor.alpha') + 'tensor.alpha'.length;
const fields = { nDims: alpha, dim0: alpha + 4, type: alpha + 20, offset: alpha + 24 };

function variant(name: string, edit: (b: Buffer) => void): string {
  const b = Buffer.from(bytes);
  edit(b);
  const file = path.join(dir, `${name}.gguf`);
  fs.writeFileSync(file, b);
  return file;
}

function refused(file: string, pattern: RegExp): void {
  assert.throws(
    () => readGgufHeader(file),
    (e: unknown) => {
      assert.ok(e instanceof ColaError, `not a ColaError: ${String(e)}`);
      assert.ok(e.message.includes(file), `message does not name the file: ${e.message}`);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

test('the well-formed file reads (the variants below differ from it in one field)', () => {
  const g = readGgufHeader(good);
  assert.deepEqual([...g.tensors.keys()], ['tensor.alpha', 'tensor.beta']);
  assert.equal(g.metadata.get('general.flag')!.value, true);
});

test('a file cut at any byte of the header or the data is refused with a clear error', () => {
  for (let n = 0; n < dataEnd; n++) {
    const file = path.join(dir, 'cut.gguf');
    fs.writeFileSync(file, bytes.subarray(0, n));
    assert.throws(
      () => readGgufHeader(file),
      (e: unknown) => e instanceof ColaError && e.message.includes(file) && /truncated|past the end|not a GGUF/.test(e.message),
      `cut at ${n} of ${bytes.length} (header ends at ${headerEnd})`,
    );
  }
  fs.writeFileSync(path.join(dir, 'cut.gguf'), bytes.subarray(0, dataEnd));
  assert.equal(readGgufHeader(path.join(dir, 'cut.gguf')).tensors.size, 2, 'trailing padding is optional');
});

const u64 = (v: bigint) => (b: Buffer, at: number) => b.writeBigUInt64LE(v, at);
const u32 = (v: number) => (b: Buffer, at: number) => b.writeUInt32LE(v, at);

const CASES: [string, (b: Buffer) => void, RegExp][] = [
  ['bad magic', (b) => b.write('GGML', 0), /does not start with "GGUF".*not a GGUF file/],
  ['version 4', (b) => u32(4)(b, 4), /GGUF version 4 is not supported \(cola reads versions 1 to 3/],
  ['big-endian version', (b) => u32(0x03000000)(b, 4), /big-endian/],
  ['tensor count too large', (b) => u64(1n << 40n)(b, 8), /tensor_count.*cannot fit/],
  ['kv count too large', (b) => u64(1000n)(b, 16), /metadata_kv_count.*cannot fit/],
  ['count beyond 2^53', (b) => u64(1n << 60n)(b, 8), /tensor_count.*beyond any real file/],
  [
    'string length lying',
    (b) => u64(1n << 30n)(b, find('llama') - 8),
    /metadata "general.architecture".*needs 1073741824 bytes but the file ends/,
  ],
  ['key length lying', (b) => u64(70000n)(b, find('general.flag') - 8), /metadata key 1 length.*65535-byte limit/],
  [
    'array length lying',
    (b) => u64(1n << 33n)(b, find('test.list') + 'test.list'.length + 8),
    /metadata "test.list" length.*over the limit|do not fit/,
  ],
  ['unknown value type', (b) => u32(13)(b, find('general.flag') + 'general.flag'.length), /metadata "general.flag" type.*value type 13/],
  ['bool of 2', (b) => (b[find('general.flag') + 'general.flag'.length + 4] = 2), /a bool must be 0 or 1, found 2/],
  ['invalid UTF-8', (b) => (b[find('llama')] = 0xff), /metadata "general.architecture".*not valid UTF-8/],
  ['5 dimensions', (b) => u32(5)(b, fields.nDims), /tensor "tensor.alpha" n_dimensions.*5 is outside 1..4/],
  ['unknown ggml type', (b) => u32(99)(b, fields.type), /tensor "tensor.alpha" has ggml type 99 \(not a ggml type\).*supported: F32/],
  ['unsupported IQ type', (b) => u32(16)(b, fields.type), /type 16 \(IQ2_XXS\), which cola cannot read/],
  ['offset beyond the file', (b) => u64(1n << 20n)(b, fields.offset), /tensor "tensor.alpha" offset.*run past the end of the file/],
  ['misaligned offset', (b) => u64(4n)(b, fields.offset), /tensor "tensor.alpha" offset.*not a multiple of general.alignment 32/],
  ['dimension beyond the file', (b) => u64(1n << 36n)(b, fields.dim0), /tensor "tensor.alpha" offset.*run past the end/],
  [
    'dimensions that overflow',
    (b) => (u64(1n << 50n)(b, fields.dim0), u64(1n << 50n)(b, fields.dim0 + 8)),
    /tensor "tensor.alpha" dimensions.*overflow/,
  ],
  ['row not whole blocks', (b) => u64(33n)(b, fields.dim0), /not a whole number of Q8_0 blocks of 32/],
  ['overlapping tensors', (b) => u64(0n)(b, bytes.indexOf(Buffer.from('tensor.beta')) + 11 + 4 + 8 + 4), /overlap/],
];

for (const [name, edit, pattern] of CASES) {
  test(`a lying header is refused: ${name}`, () => refused(variant(name.replace(/\W+/g, '-'), edit), pattern));
}

test('general.alignment must be a power of two', () => {
  const file = path.join(dir, 'align.gguf');
  writeGguf(file, [['general.alignment', { type: GgufValueType.UINT32, value: 24 }]], []);
  refused(file, /general.alignment must be a uint32 power of two/);
});
