import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../../src/errors.js';
import { readLlama2c, type StateDict } from '../../src/io/llama2c.js';
import { permuteRopeRowsToHalves, permuteRopeRowsToPairs } from '../../src/io/ropeLayout.js';
import { randn } from '../helpers/random.js';
import { makeTmpDir } from './tmpdir.js';
import {
  TINY,
  randomWeights,
  writeV0,
  writeV1,
  writeV2,
  sharedDir,
  skipShared,
  type SourceWeights,
  type TinyDims,
} from './llama2cFixtures.js';

const dir = makeTmpDir('llama2c');

/** The HF key each llama2.c tensor must land under (w1 = gate, w3 = up, w2 = down). */
function expectedPairs(w: SourceWeights, nLayers: number): [string, Float32Array][] {
  const pairs: [string, Float32Array][] = [
    ['model.embed_tokens.weight', w.tokenEmbedding],
    ['model.norm.weight', w.rmsFinal],
  ];
  for (let i = 0; i < nLayers; i++) {
    const p = `model.layers.${i}.`;
    pairs.push(
      [`${p}input_layernorm.weight`, w.rmsAtt[i]],
      [`${p}post_attention_layernorm.weight`, w.rmsFfn[i]],
      [`${p}self_attn.q_proj.weight`, w.wq[i]],
      [`${p}self_attn.k_proj.weight`, w.wk[i]],
      [`${p}self_attn.v_proj.weight`, w.wv[i]],
      [`${p}self_attn.o_proj.weight`, w.wo[i]],
      [`${p}mlp.gate_proj.weight`, w.w1[i]],
      [`${p}mlp.down_proj.weight`, w.w2[i]],
      [`${p}mlp.up_proj.weight`, w.w3[i]],
    );
  }
  if (w.wcls) pairs.push(['lm_head.weight', w.wcls]);
  return pairs;
}

function assertStateDict(sd: StateDict, w: SourceWeights, d: TinyDims, value: (src: Float32Array) => Float32Array = (x) => x): void {
  const pairs = expectedPairs(w, d.nLayers);
  assert.deepEqual([...sd.keys()].sort(), pairs.map(([k]) => k).sort());
  for (const [key, src] of pairs) assert.deepEqual(sd.get(key)!.data, value(src), key);
  const kvDim = (d.dim * d.nKvHeads) / d.nHeads;
  assert.deepEqual(sd.get('model.layers.0.self_attn.k_proj.weight')!.shape, [kvDim, d.dim]);
  assert.deepEqual(sd.get('model.layers.1.mlp.down_proj.weight')!.shape, [d.dim, d.hiddenDim]);
  assert.deepEqual(sd.get('model.embed_tokens.weight')!.shape, [d.vocabSize, d.dim]);
}

for (const tied of [true, false]) {
  for (const version of [0, 1] as const) {
    test(`version ${version} ${tied ? 'tied' : 'untied'}: every tensor lands under its HF key with the source values`, () => {
      const w = randomWeights(TINY, tied, 10 + version);
      const file = path.join(dir, `v${version}-${tied}.bin`);
      (version === 0 ? writeV0 : writeV1)(file, TINY, w);
      const m = readLlama2c(file, { permuteRope: false });
      assert.equal(m.header.version, version);
      assert.equal(m.config.tie_word_embeddings, tied);
      assert.equal(m.config.vocab_size, TINY.vocabSize);
      assert.equal(m.config.cola_rope_layout, 'adjacent');
      assertStateDict(m.stateDict, w, TINY);
    });
  }
}

for (const tied of [true, false]) {
  test(`version 2 (Q8_0) ${tied ? 'tied' : 'untied'}: dequantized exactly to q * scale in float32`, () => {
    const w = randomWeights(TINY, tied, 20);
    const file = path.join(dir, `v2-${tied}.bin`);
    const q = writeV2(file, TINY, w, 8);
    const m = readLlama2c(file, { permuteRope: false });
    assert.equal(m.header.groupSize, 8);
    const deq = (src: Float32Array) => {
      const qs = q.get(src);
      if (!qs) return src; // norms stay fp32
      return Float32Array.from(qs.q, (v, i) => Math.fround(v * qs.s[Math.floor(i / 8)]));
    };
    assertStateDict(m.stateDict, w, TINY, deq);
    // quantization is lossy but close: the reader did not read scales as values
    const e = m.stateDict.get('model.embed_tokens.weight')!.data;
    const maxErr = e.reduce((a, v, i) => Math.max(a, Math.abs(v - w.tokenEmbedding[i])), 0);
    assert.ok(maxErr < 0.05, `max dequantization error ${maxErr}`);
  });
}

/** llama2.c's RoPE: rotate adjacent pairs (2i, 2i+1) of each head. */
function ropeAdjacent(x: Float32Array, headSize: number, pos: number): Float32Array {
  const out = Float32Array.from(x);
  for (let j = 0; j < x.length; j += 2) {
    const theta = pos / 10000 ** ((j % headSize) / headSize);
    const [c, s] = [Math.cos(theta), Math.sin(theta)];
    out[j] = x[j] * c - x[j + 1] * s;
    out[j + 1] = x[j] * s + x[j + 1] * c;
  }
  return out;
}

/** HF Llama's RoPE: rotate_half pairs (i, i + headSize/2) of each head. */
function ropeHalves(x: Float32Array, headSize: number, pos: number): Float32Array {
  const out = Float32Array.from(x);
  const half = headSize / 2;
  for (let h = 0; h < x.length; h += headSize) {
    for (let i = 0; i < half; i++) {
      const theta = pos / 10000 ** ((2 * i) / headSize);
      const [c, s] = [Math.cos(theta), Math.sin(theta)];
      const [a, b] = [x[h + i], x[h + i + half]];
      out[h + i] = a * c - b * s;
      out[h + i + half] = b * c + a * s;
    }
  }
  return out;
}

function matvec(w: Float32Array, x: Float32Array): Float32Array {
  const rows = w.length / x.length;
  return Float32Array.from({ length: rows }, (_, r) => x.reduce((a, v, c) => a + w[r * x.length + c] * v, 0));
}

function scores(q: Float32Array, k: Float32Array, headSize: number, nHeads: number, nKv: number): number[] {
  const out: number[] = [];
  for (let h = 0; h < nHeads; h++) {
    const kh = Math.floor(h / (nHeads / nKv)); // GQA: query head h reads kv head kh
    let dot = 0;
    for (let j = 0; j < headSize; j++) dot += q[h * headSize + j] * k[kh * headSize + j];
    out.push(dot);
  }
  return out;
}

test('permuted q/k with the HF halves RoPE give the same attention scores as llama2.c', () => {
  const w = randomWeights(TINY, true, 30);
  const file = path.join(dir, 'rope.bin');
  writeV0(file, TINY, w);
  const m = readLlama2c(file);
  assert.equal(m.config.cola_rope_layout, 'halves');
  const hs = TINY.dim / TINY.nHeads;
  const wq = m.stateDict.get('model.layers.1.self_attn.q_proj.weight')!.data;
  const wk = m.stateDict.get('model.layers.1.self_attn.k_proj.weight')!.data;
  assert.notDeepEqual(wq, w.wq[1]); // it really was permuted
  const [x, y] = [randn(TINY.dim, 31), randn(TINY.dim, 32)];
  const [pq, pk] = [5, 3];
  const ref = scores(ropeAdjacent(matvec(w.wq[1], x), hs, pq), ropeAdjacent(matvec(w.wk[1], y), hs, pk), hs, TINY.nHeads, TINY.nKvHeads);
  const hf = scores(ropeHalves(matvec(wq, x), hs, pq), ropeHalves(matvec(wk, y), hs, pk), hs, TINY.nHeads, TINY.nKvHeads);
  hf.forEach((v, i) => assert.ok(Math.abs(v - ref[i]) < 1e-4 * (1 + Math.abs(ref[i])), `head ${i}: ${v} vs ${ref[i]}`));
  // v, o and the rest are untouched
  assert.deepEqual(m.stateDict.get('model.layers.1.self_attn.v_proj.weight')!.data, w.wv[1]);
  // and the inverse permutation restores the llama2.c rows
  assert.deepEqual(permuteRopeRowsToPairs(wq, TINY.nHeads, TINY.dim), w.wq[1]);
  assert.deepEqual(permuteRopeRowsToPairs(permuteRopeRowsToHalves(wk, 2, TINY.dim), 2, TINY.dim), wk);
});

function assertRejected(file: string, pattern: RegExp): void {
  assert.throws(
    () => readLlama2c(file),
    (e: unknown) => e instanceof ColaError && e.message.includes(file) && pattern.test(e.message),
  );
}

test('truncated, padded and corrupt files are rejected with a ColaError naming the file', () => {
  const good = path.join(dir, 'good.bin');
  writeV0(good, TINY, randomWeights(TINY, true, 40));
  const bytes = fs.readFileSync(good);
  const variant = (name: string, b: Buffer) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, b);
    return f;
  };
  const withInt = (at: number, v: number) => {
    const b = Buffer.from(bytes);
    b.writeInt32LE(v, at);
    return b;
  };
  assertRejected(variant('trunc.bin', bytes.subarray(0, bytes.length - 4)), /must be exactly/);
  assertRejected(variant('extra.bin', Buffer.concat([bytes, Buffer.alloc(4)])), /must be exactly/);
  assertRejected(variant('short.bin', bytes.subarray(0, 10)), /too short/);
  assertRejected(variant('negdim.bin', withInt(0, -16)), /dim = -16/);
  assertRejected(variant('hugedim.bin', withInt(0, 1 << 30)), /dim = 1073741824/);
  assertRejected(variant('heads.bin', withInt(12, 3)), /not a multiple of n_heads/);
  assertRejected(variant('kv.bin', withInt(16, 3)), /n_kv_heads/);
  assertRejected(variant('layers.bin', withInt(8, 0)), /n_layers = 0/);
  const v2 = path.join(dir, 'v2good.bin');
  writeV2(v2, TINY, randomWeights(TINY, true, 41), 8);
  const v2bytes = fs.readFileSync(v2);
  const v2with = (name: string, at: number, v: number) => {
    const b = Buffer.from(v2bytes);
    b.writeInt32LE(v, at);
    return variant(name, b);
  };
  assertRejected(v2with('v2group.bin', 37, 7), /group_size 7/);
  assertRejected(v2with('v2group0.bin', 37, 0), /group_size = 0/);
  assertRejected(v2with('v9.bin', 4, 9), /version 9 is not supported/);
  assertRejected(variant('v2trunc.bin', v2bytes.subarray(0, 200)), /256-byte header/);
  assertRejected(variant('v2short.bin', v2bytes.subarray(0, v2bytes.length - 1)), /must be exactly/);
  assert.equal(readLlama2c(good).stateDict.size, 2 + 9 * TINY.nLayers); // still healthy
});

const paramCount = (sd: StateDict) => [...sd.values()].reduce((a, t) => a + t.data.length, 0);

test('the real stories260K (v0) and stories3M (v2) load with the README parameter counts', { skip: skipShared }, () => {
  const small = readLlama2c(path.join(sharedDir, 'models/stories260K/stories260K.bin'));
  assert.equal(paramCount(small.stateDict), 260_032);
  assert.equal(small.config.num_key_value_heads, 4);
  const q8 = readLlama2c(path.join(sharedDir, 'models/stories3M/stories3M-q80.bin'));
  assert.equal(paramCount(q8.stateDict), 3_148_224);
  assert.equal(q8.header.groupSize, 64);
  assert.equal(q8.stateDict.has('lm_head.weight'), false);
  const norm = q8.stateDict.get('model.norm.weight')!.data;
  assert.ok(Math.abs(norm.reduce((a, v) => a + v, 0) / norm.length - 7.35) < 0.01); // README: mean 7.35
});
