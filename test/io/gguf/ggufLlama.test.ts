// GGUF container version 1 and the llama-level checks (issue 17): a v1 file reads as its v3
// twin; a file that is valid GGUF but not a llama model cola can load is refused clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../../../src/errors.js';
import { encodeGguf } from '../../../src/io/gguf/ggufCodecs.js';
import { openGgufLlama, readGgufLlamaTensor } from '../../../src/io/gguf/ggufLlama.js';
import { readGgufHeader, readGgufTensorBytes, type GgufValue } from '../../../src/io/gguf/ggufReader.js';
import { writeLlamaGguf } from '../../../src/io/gguf/ggufLlamaWriter.js';
import { ggufToHfTokenizer } from '../../../src/io/gguf/ggufTokenizer.js';
import { GgufValueType, ggmlTypeByName } from '../../../src/io/gguf/ggufTypes.js';
import { writeGguf, type GgufTensorToWrite } from '../../../src/io/gguf/ggufWriter.js';
import { randn } from '../../helpers/random.js';
import { makeTmpDir } from '../tmpdir.js';
import { GGUF_BLOCK_CODEC } from '../../../src/models/ggufBlockCodec.js';

const dir = makeTmpDir('gguf-llama');
const f32 = ggmlTypeByName('F32');
const u32 = (value: number): GgufValue => ({ type: GgufValueType.UINT32, value });
const str = (value: string): GgufValue => ({ type: GgufValueType.STRING, value });

/** A one-layer llama of width 8 (2 heads of 4), vocab 4, no tokenizer. */
function tinyLlama(over: Record<string, GgufValue | null> = {}): { meta: [string, GgufValue][]; tensors: GgufTensorToWrite[] } {
  const base: Record<string, GgufValue> = {
    'general.architecture': str('llama'),
    'llama.embedding_length': u32(8),
    'llama.feed_forward_length': u32(16),
    'llama.block_count': u32(1),
    'llama.attention.head_count': u32(2),
    'llama.attention.head_count_kv': u32(2),
    'llama.rope.dimension_count': u32(4),
    'llama.context_length': u32(32),
    'llama.vocab_size': u32(4),
  };
  const meta = Object.entries({ ...base, ...over }).filter((e): e is [string, GgufValue] => e[1] !== null);
  const shapes: [string, number[]][] = [
    ['token_embd.weight', [8, 4]],
    ['output_norm.weight', [8]],
    ['blk.0.attn_q.weight', [8, 8]],
    ['blk.0.attn_k.weight', [8, 8]],
    ['blk.0.attn_v.weight', [8, 8]],
    ['blk.0.attn_output.weight', [8, 8]],
    ['blk.0.attn_norm.weight', [8]],
    ['blk.0.ffn_norm.weight', [8]],
    ['blk.0.ffn_gate.weight', [8, 16]],
    ['blk.0.ffn_up.weight', [8, 16]],
    ['blk.0.ffn_down.weight', [16, 8]],
  ];
  const tensors = shapes.map(([name, dims], i) => ({
    name,
    dims,
    type: f32,
    data: encodeGguf(
      f32,
      randn(
        dims.reduce((a, d) => a * d, 1),
        i + 1,
      ),
      GGUF_BLOCK_CODEC,
    ),
  }));
  return { meta, tensors };
}

function write(name: string, over: Record<string, GgufValue | null> = {}): string {
  const { meta, tensors } = tinyLlama(over);
  const file = path.join(dir, name);
  writeGguf(file, meta, tensors);
  return file;
}

/** The same file in container version 1: counts, lengths and dims as uint32. */
function toVersion1(v3: string, out: string): void {
  const g = readGgufHeader(v3);
  const parts: Buffer[] = [];
  const u32b = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    parts.push(b);
  };
  const s = (t: string) => (u32b(Buffer.byteLength(t)), parts.push(Buffer.from(t)));
  parts.push(Buffer.from('GGUF'));
  u32b(1);
  u32b(g.tensors.size);
  u32b(g.metadata.size);
  for (const [k, v] of g.metadata) {
    s(k);
    u32b(v.type);
    if (v.type === GgufValueType.STRING) s(v.value as string);
    else u32b(v.value as number); // every value here is a uint32
  }
  let offset = 0;
  for (const t of g.tensors.values()) {
    s(t.name);
    u32b(t.dims.length);
    t.dims.forEach(u32b);
    u32b(t.type.id);
    const o = Buffer.alloc(8);
    o.writeBigUInt64LE(BigInt(offset));
    parts.push(o);
    offset += Math.ceil(t.byteLength / 32) * 32;
  }
  const header = Buffer.concat(parts);
  const data = [...g.tensors.values()].map((t) => {
    const b = Buffer.alloc(Math.ceil(t.byteLength / 32) * 32);
    Buffer.from(readGgufTensorBytes(g, t.name)).copy(b);
    return b;
  });
  fs.writeFileSync(out, Buffer.concat([header, Buffer.alloc(Math.ceil(header.length / 32) * 32 - header.length), ...data]));
}

test('a version 1 file (32-bit counts) reads to the same metadata and tensors as its version 3 twin', () => {
  const v3 = write('v3.gguf');
  const v1 = path.join(dir, 'v1.gguf');
  toVersion1(v3, v1);
  const [a, b] = [openGgufLlama(v3), openGgufLlama(v1)];
  assert.equal(b.file.version, 1);
  assert.deepEqual({ ...b.config, cola_source: '' }, { ...a.config, cola_source: '' });
  for (const name of a.tensors.keys())
    assert.deepEqual(readGgufLlamaTensor(b, name, GGUF_BLOCK_CODEC), readGgufLlamaTensor(a, name, GGUF_BLOCK_CODEC), name);
  assert.equal(a.config['tie_word_embeddings'], true);
});

function refused(file: string, pattern: RegExp, read: (f: string) => unknown = openGgufLlama): void {
  assert.throws(
    () => read(file),
    (e: unknown) => e instanceof ColaError && e.message.includes(file) && pattern.test(e.message),
  );
}

test('a GGUF that is not a llama model cola can load is refused with what to do', () => {
  refused(write('arch.gguf', { 'general.architecture': str('gpt2') }), /general.architecture is "gpt2"; cola reads llama-architecture/);
  refused(write('no-ffn.gguf', { 'llama.feed_forward_length': null }), /metadata "llama.feed_forward_length" is missing/);
  refused(write('ffn-type.gguf', { 'llama.feed_forward_length': str('16') }), /"llama.feed_forward_length" must be a number, found STRING/);
  refused(write('partial-rope.gguf', { 'llama.rope.dimension_count': u32(2) }), /partial RoPE is not supported/);
  refused(write('scaling.gguf', { 'llama.rope.scaling.type': str('yarn') }), /rope.scaling.type "yarn" is not supported/);
  const { meta, tensors } = tinyLlama();
  const extra = path.join(dir, 'extra.gguf');
  writeGguf(extra, meta, [...tensors, { name: 'blk.0.attn_q.bias', dims: [8], type: f32, data: new Uint8Array(32) }]);
  refused(extra, /tensors a llama model does not have: blk.0.attn_q.bias/);
});

test('a tokenizer that is missing or not laid out as Llama 2s is refused', () => {
  const header = (f: string) => ggufToHfTokenizer(readGgufHeader(f));
  refused(write('no-tok.gguf'), /tokenizer.ggml.model is null; cola reads the "llama"/, header);
  const tokens: GgufValue = { type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value: ['<unk>', '<s>', '</s>', 'a'] };
  refused(write('short-vocab.gguf', { 'tokenizer.ggml.model': str('llama'), 'tokenizer.ggml.tokens': tokens }), /only 4 tokens/, header);
  const wrongScores: GgufValue = { type: GgufValueType.ARRAY, itemType: GgufValueType.FLOAT32, value: [0] };
  refused(
    write('scores.gguf', { 'tokenizer.ggml.model': str('llama'), 'tokenizer.ggml.tokens': tokens, 'tokenizer.ggml.scores': wrongScores }),
    /"tokenizer.ggml.scores" must be an array of 4 numbers/,
    header,
  );
});

test('writing pads a tokenizer shorter than the embedding with UNUSED [PAD<id>] tokens, and refuses a longer one', () => {
  const config = {
    model_type: 'llama',
    hidden_size: 8,
    num_attention_heads: 2,
    num_hidden_layers: 0,
    vocab_size: 5,
    intermediate_size: 16,
    tie_word_embeddings: true,
  };
  const tensors = [
    { name: 'model.embed_tokens.weight', shape: [5, 8], data: randn(40, 1) },
    { name: 'model.norm.weight', shape: [8], data: randn(8, 2) },
  ];
  const arr = (itemType: GgufValueType, value: (string | number)[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType, value });
  const tokenizer: [string, GgufValue][] = [
    ['tokenizer.ggml.model', str('llama')],
    ['tokenizer.ggml.tokens', arr(GgufValueType.STRING, ['<unk>', '<s>', '</s>'])],
    ['tokenizer.ggml.scores', arr(GgufValueType.FLOAT32, [0, 0, 0])],
    ['tokenizer.ggml.token_type', arr(GgufValueType.INT32, [2, 3, 3])],
  ];
  const file = path.join(dir, 'padded.gguf');
  writeLlamaGguf({ file, config, tensors, tokenizer, type: 'f32', codec: GGUF_BLOCK_CODEC });
  const g = readGgufHeader(file);
  assert.deepEqual(g.metadata.get('tokenizer.ggml.tokens')!.value, ['<unk>', '<s>', '</s>', '[PAD3]', '[PAD4]']);
  assert.deepEqual(g.metadata.get('tokenizer.ggml.token_type')!.value, [2, 3, 3, 5, 5]);
  assert.deepEqual(g.metadata.get('tokenizer.ggml.scores')!.value, [0, 0, 0, -1000, -1000]);
  assert.throws(
    () => writeLlamaGguf({ file, config: { ...config, vocab_size: 2 }, tensors, tokenizer, type: 'f32', codec: GGUF_BLOCK_CODEC }),
    (e: unknown) => e instanceof ColaError && /the tokenizer has 3 tokens but the model's vocab_size is 2/.test(e.message),
  );
});
