// A Q8_0 / Q4_0 GGUF loads as a quantized base (issue 17): its block linear weights become
// cola's q8_0 / q4_0 codes, byte for byte the file's (q/k rows permuted), never widened; the
// model computes dequant(W), so its logits equal those of the same file dequantized (a
// `cola convert gguf` folder) up to summation order. --quantize with another format is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { getBackend } from '../../../src/backend/index.js';
import { dequantize } from '../../../src/backend/quant/codec.js';
import { ColaError } from '../../../src/errors.js';
import { convertGguf } from '../../../src/io/gguf/convertGguf.js';
import { openGgufLlama, readGgufLlamaTensor } from '../../../src/io/gguf/ggufLlama.js';
import { tokenizerMetadataFor } from '../../../src/io/gguf/ggufTokenizer.js';
import type { CausalLM } from '../../../src/models/causalLM.js';
import { GGUF_BLOCK_CODEC } from '../../../src/models/ggufBlockCodec.js';
import { checkpointSummary, loadModel } from '../../../src/models/load.js';
import { ggufQuantPlan } from '../../../src/models/loadGguf.js';
import { isQuantized, quantizeModel } from '../../../src/models/quantize.js';
import { saveModelFolder } from '../../../src/models/save.js';
import { saveModelGguf } from '../../../src/models/saveGguf.js';
import { QuantizedLinear } from '../../../src/nn/quantizedLinear.js';
import { noGrad } from '../../../src/tensor/autograd.js';
import { tensor } from '../../../src/tensor/ops/creation.js';
import { tinyModelFolder } from '../../helpers/tinyFolder.js';
import { maxDiffRelToMax } from '../../helpers/tolerance.js';
import { sharedDir, skipShared } from '../llama2cFixtures.js';
import { makeTmpDir } from '../tmpdir.js';

const dir = makeTmpDir('gguf-quantized-load');
const backend = getBackend();
const notes: string[] = [];
const load = (p: string, quantize?: 'q8_0' | 'q4_0' | 'int8' | 'nf4') => loadModel(p, { backend, warn: (m) => notes.push(m), quantize });
const logitsOf = (m: CausalLM, ids: number[]) => noGrad(() => m.logits(tensor(backend, ids, [1, ids.length], 'i32')).f32.slice());
const quantizedLayers = (m: CausalLM) =>
  [...m.namedModules()].filter((e): e is [string, QuantizedLinear] => e[1] instanceof QuantizedLinear);

// rows of 32 and 64 (dim 32, hidden 64): every block linear weight is whole Q8_0 / Q4_0 blocks
const folder = tinyModelFolder(7, { dim: 32, hiddenDim: 64 });
const files = new Map<string, string>();
function ggufOf(type: 'q8_0' | 'q4_0'): string {
  if (!files.has(type)) {
    const file = path.join(dir, `tiny-${type}.gguf`);
    saveModelGguf(load(folder), { file, type, tokenizer: tokenizerMetadataFor(folder) });
    files.set(type, file);
  }
  return files.get(type)!;
}

for (const type of ['q8_0', 'q4_0'] as const) {
  test(`a ${type} GGUF keeps its linear weights as ${type} codes (the file's blocks) and gives the logits of its dequantized load`, () => {
    const file = ggufOf(type);
    notes.length = 0;
    const q = load(file);
    const layers = quantizedLayers(q);
    assert.equal(layers.length, 2 * 7, 'q, k, v, o, gate, up, down of both layers');
    const g = openGgufLlama(file);
    for (const [p, layer] of layers) {
      assert.equal(layer.format, type, p);
      // the codes decode to exactly the values the file's tensor decodes to (q/k rows permuted alike)
      assert.deepEqual(dequantize(layer.weight), readGgufLlamaTensor(g, `${p}.weight`, GGUF_BLOCK_CODEC), p);
    }
    assert.match(notes.join('\n'), new RegExp(`14 linear weights stay quantized as cola's ${type}`));
    // the same file dequantized to an f32 folder: the weights are dequant(W) exactly
    const out = path.join(dir, `tiny-${type}-dequantized`);
    convertGguf(file, out, GGUF_BLOCK_CODEC);
    const dense = load(out);
    assert.equal(isQuantized(dense), false);
    const ids = [1, 40, 50, 60, 70, 80, 90];
    const d = maxDiffRelToMax(logitsOf(q, ids), logitsOf(dense, ids));
    assert.ok(d <= 1e-5, `quantized vs dequantized load: relative logit difference ${d}`);
  });
}

test('--quantize on a quantized GGUF: the same format is accepted, another is refused with the fix', () => {
  const file = ggufOf('q8_0');
  const same = load(file, 'q8_0');
  assert.deepEqual(
    quantizedLayers(same).map(([, l]) => l.format),
    new Array<string>(14).fill('q8_0'),
  );
  for (const other of ['q4_0', 'int8', 'nf4'] as const)
    assert.throws(
      () => load(file, other),
      (e: unknown) =>
        e instanceof ColaError &&
        new RegExp(`--quantize ${other}: .*already stores 14 linear weights quantized \\(q8_0\\).*Drop --quantize`).test(e.message),
    );
});

test('a GGUF whose linear weights are F32 loads dense, and --quantize quantizes it as a folder', () => {
  const file = path.join(dir, 'tiny-f32.gguf');
  saveModelGguf(load(folder), { file, type: 'f32', tokenizer: tokenizerMetadataFor(folder) });
  assert.equal(isQuantized(load(file)), false);
  assert.equal(ggufQuantPlan(openGgufLlama(file)).kept.size, 0);
  const q = load(file, 'q4_0');
  quantizeModel(q, 'q4_0'); // what cli/setup.ts does after the load
  const folderQ = load(folder, 'q4_0');
  const ids = [1, 2, 3, 4, 5];
  assert.deepEqual(logitsOf(q, ids), logitsOf(folderQ, ids));
});

test('a quantized GGUF re-exports to the same bytes, and its summary (cola info) names what stays quantized', () => {
  const file = ggufOf('q4_0');
  const again = path.join(dir, 'tiny-q4_0-again.gguf');
  saveModelGguf(load(file), { file: again, type: 'q4_0', tokenizer: tokenizerMetadataFor(file) });
  const [a, b] = [openGgufLlama(file), openGgufLlama(again)];
  for (const name of a.tensors.keys())
    assert.deepEqual(readGgufLlamaTensor(b, name, GGUF_BLOCK_CODEC), readGgufLlamaTensor(a, name, GGUF_BLOCK_CODEC), name);
  const s = checkpointSummary(file);
  assert.deepEqual(Object.keys(s.keptQuantized ?? {}), ['q4_0']);
  assert.equal(s.keptQuantized!['q4_0']!.length, 14);
  assert.ok(s.keptQuantized!['q4_0']!.includes('model.layers.1.mlp.down_proj.weight'));
  assert.deepEqual(
    s.dequantized!.map((d) => d.name),
    ['token_embd.weight'],
  );
  // memory: the kept weights count at their block size, not as f32
  assert.ok(s.loadedBytes.f32 < 4 * s.parameters);
});

test('a quantized base saves as a folder of the weights it applies (cola export merged): same logits', () => {
  const q = load(ggufOf('q8_0'));
  const out = path.join(dir, 'tiny-q8_0-saved');
  saveModelFolder(q, out);
  const back = load(out);
  assert.equal(isQuantized(back), false);
  const ids = [1, 9, 8, 7, 6];
  const d = maxDiffRelToMax(logitsOf(back, ids), logitsOf(q, ids));
  assert.ok(d <= 1e-5, `relative logit difference ${d}`);
});

// ---- the real stories260K Q8_0 file (../shared/models/gguf/README.md) ----

const gguf = (f: string) => path.join(sharedDir, 'models/gguf', f);

test(
  'stories260K-q8_0.gguf: 30 linear weights stay q8_0, ffn_down (rows of 172, blocks across rows) is dequantized; logits equal the dequantized load',
  { skip: skipShared },
  () => {
    const file = gguf('stories260K-q8_0.gguf');
    const q = load(file);
    const layers = quantizedLayers(q);
    assert.equal(layers.length, 30);
    assert.ok(layers.every(([p, l]) => l.format === 'q8_0' && !p.endsWith('down_proj')));
    const plan = ggufQuantPlan(openGgufLlama(file));
    assert.deepEqual(
      plan.dequantized.filter((d) => d.name.startsWith('blk.')).map((d) => d.name),
      [0, 1, 2, 3, 4].map((i) => `blk.${i}.ffn_down.weight`),
    );
    const out = path.join(dir, 'stories260K-q8_0-dequantized');
    convertGguf(file, out, GGUF_BLOCK_CODEC);
    const ids = [1, 403, 407, 261, 378, 4, 100, 200];
    const d = maxDiffRelToMax(logitsOf(q, ids), logitsOf(load(out), ids));
    assert.ok(d <= 1e-5, `relative logit difference ${d}`);
  },
);
