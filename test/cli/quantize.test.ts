// Training on a quantized frozen base (issue 17), end to end through the CLI: a 3-link
// COLA run on a q8_0 base ends with the dev loss `cola eval --quantize q8_0 --adapter`
// gives for its exported adapter (knots stay exact: the merged links are a frozen
// residual, never folded into the codes), and that adapter on the dequantized base as a
// plain f32 model gives the same logits. --knot-into-base logs the error it adds.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadNativeBackend } from '../../src/backend/native/index.js';
import { dequantize, quantize } from '../../src/backend/quant/codec.js';
import { referenceBackend } from '../../src/backend/reference/index.js';
import type { Backend } from '../../src/backend/backend.js';
import { convertLlama2c } from '../../src/io/convertLlama2c.js';
import { loadPeftAdapter } from '../../src/lora/peft.js';
import type { CausalLM } from '../../src/models/causalLM.js';
import { loadModel } from '../../src/models/load.js';
import { quantizeModel } from '../../src/models/quantize.js';
import { Linear } from '../../src/nn/linear.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { assertClose } from '../helpers/tolerance.js';
import { randomWeights, tinyVocab, writeTokenizerBin, writeV2, type TinyDims } from '../io/llama2cFixtures.js';
import { cola, repoRoot, tinyModelDir, writeCorpus } from './harness.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-quant-'));
const sharedDir = path.resolve(repoRoot, '../shared');
const stories3M = path.join(sharedDir, 'models/stories3M');

interface Event {
  event: string;
  dev_loss?: number;
  loss_before?: number;
  loss_after?: number;
  requant_error?: number;
}

function events(run: string): Event[] {
  return fs
    .readFileSync(path.join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Event);
}

const relDiff = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

/** Trains a 3-link COLA chain on a quantized base and checks the run's last dev loss
 * against `cola eval` of its adapter on the same quantized base. */
function checkChain(model: string, train: string, dev: string, format: string, extra: string[], env: Record<string, string>): string {
  const run = path.join(tmp, `run-${format}-${path.basename(model)}`);
  const common = ['--model', model, '--quantize', format, '--max-length', '32'];
  const t = cola(
    ['train', ...common, '--data', train, '--dev-data', dev, '--method', 'cola', '--chain-length', '3', '--out', run, '--quiet', ...extra],
    env,
  );
  assert.equal(t.status, 0, t.stderr);
  const log = events(run);
  const knots = log.filter((e) => e.event === 'knot');
  assert.equal(knots.length, 2);
  // an exact knot: the model before and after it is the same function
  for (const k of knots)
    assert.ok(relDiff(k.loss_after!, k.loss_before!) <= 1e-5, `knot changed the loss: ${k.loss_before} -> ${k.loss_after}`);
  const finalDev = log.filter((e) => e.event === 'eval').at(-1)!.dev_loss!;
  const e = cola(['eval', ...common, '--adapter', path.join(run, 'adapter'), '--data', dev, '--json'], env);
  assert.equal(e.status, 0, e.stderr);
  const evalLoss = (JSON.parse(e.stdout) as { loss: number }).loss;
  assert.ok(relDiff(evalLoss, finalDev) <= 1e-5, `run's final dev loss ${finalDev}, cola eval ${evalLoss}`);
  return run;
}

/** The model with every non-head linear weight replaced by dequant(quantize(W)): the
 * quantized base as a plain f32 model. */
function dequantizedBase(dir: string, format: 'q8_0', backend: Backend): CausalLM {
  const model = loadModel(dir, { backend, dtype: 'f32' });
  const head = model.lmHeadWeight();
  for (const [p, m] of [...model.namedModules()]) {
    if (!(m instanceof Linear) || m.weight === head) continue;
    const [rows, cols] = m.weight.shape as [number, number];
    model.setChild(p, new Linear(tensor(backend, dequantize(quantize(m.weight.f32, rows, cols, format)), [rows, cols]), m.bias));
  }
  return model;
}

/** The exported adapter gives the same logits on the quantized base and on the dequantized f32 base. */
function checkLogits(modelDir: string, run: string, backend: Backend, ids: number[]): void {
  const quantized = loadModel(modelDir, { backend, dtype: 'f32' });
  quantizeModel(quantized, 'q8_0');
  const dense = dequantizedBase(modelDir, 'q8_0', backend);
  const x = tensor(backend, ids, [1, ids.length], 'i32');
  const logits = (m: CausalLM) => {
    loadPeftAdapter(m, path.join(run, 'adapter'));
    return noGrad(() => m.logits(x)).f32.slice();
  };
  assertClose(logits(quantized), logits(dense), {
    dtype: 'f32',
    what: 'logits: quantized base + adapter vs dequantized f32 base + adapter',
  });
}

test('tiny model: a 3-link COLA run on a q8_0 base ends where cola eval --quantize q8_0 --adapter starts', () => {
  const model = tinyModelDir(tmp); // rows of 16: q8_0's last block zero-padded
  const train = writeCorpus(path.join(tmp, 'train.txt'), 24);
  const dev = writeCorpus(path.join(tmp, 'dev.txt'), 6);
  const run = checkChain(model, train, dev, 'q8_0', ['--max-steps', '6', '--batch-size', '2', '--lr', '5e-2', '--rank', '2'], {});
  checkLogits(model, run, referenceBackend, [1, 5, 7, 9, 2, 4]);
});

test('tiny model: --knot-into-base re-quantizes each knot and logs the error it added', () => {
  const model = tinyModelDir(tmp, 61);
  const train = writeCorpus(path.join(tmp, 'train2.txt'), 24);
  const run = path.join(tmp, 'run-into-base');
  const t = cola([
    'train',
    '--model',
    model,
    '--quantize',
    'nf4',
    '--data',
    train,
    '--method',
    'cola',
    '--chain-length',
    '3',
    '--max-steps',
    '6',
    '--batch-size',
    '2',
    '--lr',
    '5e-2',
    '--rank',
    '2',
    '--knot-into-base',
    '--out',
    run,
    '--quiet',
  ]);
  assert.equal(t.status, 0, t.stderr);
  const knots = events(run).filter((e) => e.event === 'knot');
  assert.equal(knots.length, 2);
  for (const k of knots) assert.ok(k.requant_error! > 0 && k.requant_error! < 0.5, `requant_error ${k.requant_error}`);
});

test('quantize flags that cannot apply are refused with the fix', () => {
  const model = tinyModelDir(tmp, 62);
  const train = writeCorpus(path.join(tmp, 'train3.txt'));
  const base = ['train', '--model', model, '--data', train, '--max-steps', '4'];
  const noQuant = cola([...base, '--method', 'cola', '--knot-into-base', '--out', path.join(tmp, 'r1')]);
  assert.notEqual(noQuant.status, 0);
  assert.match(noQuant.stderr, /--knot-into-base re-quantizes knots into a quantized base: load the model with --quantize/);
  const lora = cola([...base, '--method', 'lora', '--quantize', 'q4_0', '--knot-into-base', '--out', path.join(tmp, 'r2')]);
  assert.match(lora.stderr, /--knot-into-base does not apply to --method lora/);
  const full = cola([...base, '--method', 'full', '--quantize', 'int8', '--out', path.join(tmp, 'r3')]);
  assert.match(full.stderr, /full fine-tuning cannot train quantized weights: drop --quantize/);
  const bad = cola([...base, '--quantize', 'q5_k', '--out', path.join(tmp, 'r4')]);
  assert.match(bad.stderr, /--quantize.*int8, nf4, q8_0, q4_0/);
});

test('on a file that stores its weights quantized (llama2.c int8), the fix is to widen it, not to drop --quantize', () => {
  const sub = path.join(tmp, 'v2');
  fs.mkdirSync(sub);
  const { pieces, scores } = tinyVocab();
  const d: TinyDims = { dim: 32, hiddenDim: 64, nLayers: 1, nHeads: 2, nKvHeads: 2, vocabSize: pieces.length, seqLen: 32 };
  const bin = path.join(sub, 'model.bin');
  writeV2(bin, d, randomWeights(d, true, 3), 32);
  writeTokenizerBin(path.join(sub, 'tok.bin'), pieces, scores);
  const train = writeCorpus(path.join(tmp, 'train-v2.txt'));
  const base = ['train', '--model', bin, '--data', train, '--max-steps', '2', '--max-length', '16'];
  const full = cola([...base, '--method', 'full', '--out', path.join(tmp, 'v2-full')]);
  assert.equal(full.status, 1, full.stderr);
  assert.match(full.stderr, /full fine-tuning cannot train quantized weights: the model file itself stores its linear weights quantized/);
  assert.match(full.stderr, /cola convert llama2c MODEL\.bin TOKENIZER\.bin OUT_DIR/);
  assert.doesNotMatch(full.stderr, /drop --quantize/);
  const dora = cola([...base, '--method', 'lora', '--use-dora', '--out', path.join(tmp, 'v2-dora')]);
  assert.equal(dora.status, 1, dora.stderr);
  assert.match(dora.stderr, /--use-dora needs a dense base; the model file itself stores its linear weights quantized/);
  // and --quantize on it is refused (its codes are already the quantized base, exactly)
  const q = cola([...base, '--method', 'lora', '--quantize', 'nf4', '--out', path.join(tmp, 'v2-nf4')]);
  assert.equal(q.status, 1, q.stderr);
  assert.match(q.stderr, /--quantize nf4: .*llama2\.c int8 \(version 2\).*int8g/);
});

const skip3M = !fs.existsSync(path.join(stories3M, 'stories3M-q80.bin'))
  ? `${stories3M} not found (the shared folder holds the real stories3M)`
  : !loadNativeBackend()
    ? 'native addon not built: stories3M on the reference backend takes minutes (npm run build:native)'
    : false;

test(
  'stories3M: cola train --quantize q8_0 (3 links) = cola eval --quantize q8_0 --adapter; adapter on dequant(W) = same logits',
  { skip: skip3M },
  () => {
    const model = path.join(tmp, 's3m');
    convertLlama2c(path.join(stories3M, 'stories3M-q80.bin'), path.join(stories3M, 'tok4096.bin'), model);
    const text = fs.readFileSync(path.join(sharedDir, 'data/text/tinystories_sample.txt'), 'utf8');
    const train = path.join(tmp, 's3m-train.txt');
    const dev = path.join(tmp, 's3m-dev.txt');
    fs.writeFileSync(train, text.slice(0, 2400));
    fs.writeFileSync(dev, text.slice(2400));
    const native = { COLA_BACKEND: 'native' };
    const run = checkChain(model, train, dev, 'q8_0', ['--max-steps', '6', '--batch-size', '4', '--lr', '5e-3'], native);
    checkLogits(model, run, loadNativeBackend()!, [1, 403, 2211, 931, 1141, 2989]);
  },
);
