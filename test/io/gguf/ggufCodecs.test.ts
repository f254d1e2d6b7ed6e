// GGUF tensor codecs (issue 17): exact types round-trip bit for bit, the quantizers are
// idempotent on their own output and within half a step of the input, and the K-quant
// decoders read hand-packed blocks back to the values packed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { decodeGguf, encodeGguf } from '../../../src/io/gguf/ggufCodecs.js';
import { readGgufHeader, readGgufTensorBytes } from '../../../src/io/gguf/ggufReader.js';
import { GgufValueType, ggmlTypeByName } from '../../../src/io/gguf/ggufTypes.js';
import { writeGguf, type GgufTensorToWrite } from '../../../src/io/gguf/ggufWriter.js';
import { f16ToF32 } from '../../../src/io/floatBits.js';
import { randn, randint } from '../../helpers/random.js';
import { makeTmpDir } from '../tmpdir.js';
import { GGUF_BLOCK_CODEC } from '../../../src/models/ggufBlockCodec.js';

const dir = makeTmpDir('gguf-codecs');
const EXACT = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0'];

/** Values with the awkward cases: zeros, a zero block, a tie for the largest magnitude. */
function values(n: number, seed: number): Float32Array {
  const x = randn(n, seed);
  x.fill(0, 32, 64);
  x[70] = 3;
  x[71] = -3;
  return x;
}

test('read -> write -> read is bitwise for every type cola writes, and for the K-quants it only reads', () => {
  const tensors: GgufTensorToWrite[] = EXACT.map((name, i) => {
    const type = ggmlTypeByName(name);
    return { name: `t.${name}`, dims: [64, 3], type, data: encodeGguf(type, values(192, i + 1), GGUF_BLOCK_CODEC) };
  });
  for (const name of ['Q4_K', 'Q5_K', 'Q6_K', 'Q8_K']) {
    const type = ggmlTypeByName(name);
    const raw = Uint8Array.from(randint(type.typeSize * 2, 7, 0, 256));
    tensors.push({ name: `t.${name}`, dims: [256, 2], type, data: raw });
  }
  const meta: [string, { type: GgufValueType.STRING; value: string }][] = [
    ['general.architecture', { type: GgufValueType.STRING, value: 'llama' }],
  ];
  const a = path.join(dir, 'a.gguf');
  writeGguf(a, meta, tensors);
  const first = readGgufHeader(a);
  const b = path.join(dir, 'b.gguf');
  writeGguf(
    b,
    [...first.metadata],
    [...first.tensors.values()].map((t) => ({ name: t.name, dims: t.dims, type: t.type, data: readGgufTensorBytes(first, t.name) })),
  );
  const second = readGgufHeader(b);
  for (const t of tensors) {
    assert.deepEqual(readGgufTensorBytes(second, t.name), t.data, t.name);
    assert.deepEqual(second.tensors.get(t.name)!.dims, t.dims);
    assert.equal(second.tensors.get(t.name)!.type.name, t.type.name);
    assert.equal(second.tensors.get(t.name)!.offset % 32, 0);
  }
  assert.deepEqual([...second.metadata], [...first.metadata]);
});

test('F32, F16 and BF16 decode and re-encode to the same bits', () => {
  for (const name of ['F32', 'F16', 'BF16']) {
    const type = ggmlTypeByName(name);
    const bytes = encodeGguf(type, values(96, 3), GGUF_BLOCK_CODEC);
    assert.deepEqual(encodeGguf(type, decodeGguf(type, bytes, 96, GGUF_BLOCK_CODEC), GGUF_BLOCK_CODEC), bytes, name);
  }
});

test('Q8_0 and Q4_0: re-quantizing the dequantized values gives the same blocks; the error is within half a step (Q4_0: one step at the clipped end)', () => {
  // Q4_0's grid is -8..7 steps: the value opposite the largest magnitude can clip by one full step
  for (const [name, blockBytes, steps, maxSteps] of [
    ['Q8_0', 34, 127, 0.5],
    ['Q4_0', 18, 8, 1],
  ] as const) {
    const type = ggmlTypeByName(name);
    const x = values(32 * 40, 5);
    const q = encodeGguf(type, x, GGUF_BLOCK_CODEC);
    assert.equal(q.length, 40 * blockBytes);
    const y = decodeGguf(type, q, x.length, GGUF_BLOCK_CODEC);
    assert.deepEqual(encodeGguf(type, y, GGUF_BLOCK_CODEC), q, `${name} is idempotent`);
    for (let b = 0; b < 40; b++) {
      const d = Math.abs(f16ToF32(new Uint16Array(q.buffer.slice(b * blockBytes, b * blockBytes + 2)))[0]);
      const amax = Math.max(...x.subarray(b * 32, b * 32 + 32).map(Math.abs));
      assert.ok(Math.abs(d - amax / steps) <= amax / steps / 1024 + 1e-12, `${name} block ${b} scale`);
      for (let j = 0; j < 32; j++) {
        const err = Math.abs(y[b * 32 + j] - x[b * 32 + j]);
        // half a step, plus the f16 rounding of the scale over up to `steps` steps
        assert.ok(err <= maxSteps * d + (steps * d) / 1024 + 1e-7, `${name} value ${b * 32 + j}: |${y[b * 32 + j]} - ${x[b * 32 + j]}|`);
      }
    }
  }
  // Q4_0 maps the signed value of largest magnitude to -8: a block's max is exact
  const q4 = ggmlTypeByName('Q4_0');
  const x = Float32Array.from({ length: 32 }, (_, i) => (i === 5 ? -2 : i / 32));
  assert.equal(decodeGguf(q4, encodeGguf(q4, x, GGUF_BLOCK_CODEC), 32, GGUF_BLOCK_CODEC)[5], -2);
});

/** f16 bits of small exact values. */
const H = { one: 0x3c00, half: 0x3800 };

test('Q8_K: value = d * q', () => {
  const b = new Uint8Array(292);
  new DataView(b.buffer).setFloat32(0, 0.25, true);
  for (let j = 0; j < 256; j++) b[4 + j] = (j - 128) & 0xff;
  const y = decodeGguf(ggmlTypeByName('Q8_K'), b, 256, GGUF_BLOCK_CODEC);
  for (let j = 0; j < 256; j++) assert.equal(y[j], 0.25 * (j - 128));
});

/** 6-bit scales and mins of 8 sub-blocks packed into 12 bytes as ggml's get_scale_min_k4 reads them. */
function packScales(sc: number[], m: number[]): number[] {
  const s = new Array<number>(12).fill(0);
  for (let j = 0; j < 4; j++) {
    s[j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6);
    s[j + 4] = (m[j] & 63) | ((m[j + 4] >> 4) << 6);
    s[j + 8] = (sc[j + 4] & 15) | ((m[j + 4] & 15) << 4);
  }
  return s;
}

for (const name of ['Q4_K', 'Q5_K'] as const) {
  test(`${name}: value = d * scale * q - dmin * min per 32-value sub-block`, () => {
    const five = name === 'Q5_K';
    const sc = Array.from(randint(8, 11, 0, 64));
    const m = Array.from(randint(8, 12, 0, 64));
    const q = Array.from(randint(256, 13, 0, five ? 32 : 16));
    const b = new Uint8Array(five ? 176 : 144);
    b.set([H.one & 0xff, H.one >> 8, H.half & 0xff, H.half >> 8]);
    b.set(packScales(sc, m), 4);
    const qs = five ? 48 : 16;
    for (let j = 0; j < 8; j++) {
      for (let l = 0; l < 32; l++) {
        const v = q[j * 32 + l];
        const at = qs + (j >> 1) * 32 + l;
        b[at] |= (v & 15) << (j % 2 ? 4 : 0);
        if (five && v & 16) b[16 + l] |= 1 << j;
      }
    }
    const y = decodeGguf(ggmlTypeByName(name), b, 256, GGUF_BLOCK_CODEC);
    for (let i = 0; i < 256; i++) assert.equal(y[i], sc[i >> 5] * q[i] - 0.5 * m[i >> 5], `value ${i}`);
  });
}

test('Q6_K: value = d * scale * (q - 32) per 16-value sub-block', () => {
  const sc = Array.from(randint(16, 21, -128, 128));
  const q = Array.from(randint(256, 22, 0, 64));
  const b = new Uint8Array(210);
  for (let i = 0; i < 256; i++) {
    const [half, r] = [i >> 7, i & 127]; // 128 values per half: 4 runs of 32
    const [run, l] = [r >> 5, r & 31];
    const ql = half * 64 + l + (run % 2) * 32;
    b[ql] |= (q[i] & 15) << (run >= 2 ? 4 : 0);
    b[128 + half * 32 + l] |= (q[i] >> 4) << (2 * run);
  }
  sc.forEach((s, k) => (b[192 + k] = s & 0xff));
  b[208] = H.half & 0xff;
  b[209] = H.half >> 8;
  const y = decodeGguf(ggmlTypeByName('Q6_K'), b, 256, GGUF_BLOCK_CODEC);
  for (let i = 0; i < 256; i++) assert.equal(y[i], 0.5 * sc[i >> 4] * (q[i] - 32), `value ${i}`);
});
