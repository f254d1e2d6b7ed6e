// The library API end to end: load (or build) a model, fine-tune it with a COLA chain of
// 2 links, evaluate, reload the exported PEFT adapter, merge it, and generate.
//   npm run build && node examples/finetune.mjs [MODEL_DIR]
// Without MODEL_DIR a tiny random model is built first (seconds; its text is gibberish).
// Outputs go to a fresh temporary folder, printed at the end.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  evaluateText,
  fineTune,
  generateText,
  loadPeftAdapter,
  loadPretrained,
  mergeAndUnload,
  saveModelFolder,
  syntheticText,
  writeTinyModelFolder,
} from 'cola-lora';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-example-'));
const modelDir = process.argv[2] ?? writeTinyModelFolder(path.join(work, 'tiny-model'), { seed: 1 });

// Training and held-out text: synthetic verse (any .txt or JSONL file works the same way).
const train = path.join(work, 'train.txt');
const dev = path.join(work, 'dev.txt');
fs.writeFileSync(train, syntheticText('verse', 80, 0));
fs.writeFileSync(dev, syntheticText('verse', 20, 1));
const devText = fs.readFileSync(dev, 'utf8');

const { model, tokenizer } = loadPretrained(modelDir);
const before = evaluateText(model, tokenizer, devText, { maxLength: 64 });

// COLA: 2 links of rank 8 on q_proj/v_proj; at the knot the first link is merged into
// the weights and a fresh adapter with a fresh optimizer takes over.
const run = fineTune({
  model,
  tokenizer,
  data: train,
  devData: dev,
  maxLength: 64,
  method: 'cola',
  chainLength: 2,
  maxSteps: 8,
  batchSize: 4,
  lr: 1e-2,
  saveEvery: 0,
  outDir: path.join(work, 'run'),
  baseModel: modelDir,
  lora: { r: 8, alpha: 16, targets: ['q_proj', 'v_proj'] },
});
const after = evaluateText(model, tokenizer, devText, { maxLength: 64 });

// run.adapterDir holds the whole chain as ONE PEFT LoRA (rank 16 = 8 + 8): load it on a
// fresh copy of the base model, then merge it in and save a plain model folder.
const fresh = loadPretrained(modelDir);
loadPeftAdapter(fresh.model, run.adapterDir);
const reloaded = evaluateText(fresh.model, fresh.tokenizer, devText, { maxLength: 64 });
mergeAndUnload(fresh.model);
const merged = path.join(work, 'merged');
saveModelFolder(fresh.model, merged);

const text = generateText(fresh.model, fresh.tokenizer, 'O lord,', { maxNewTokens: 24 });

console.log(`model:            ${modelDir}`);
console.log(`links:            ${run.links.map((l) => `${l.start}-${l.end} (rank ${l.rank})`).join(', ')}`);
console.log(`dev loss:         base ${before.loss.toFixed(4)}, after COLA ${after.loss.toFixed(4)}, reloaded adapter ${reloaded.loss.toFixed(4)}`);
console.log(`PEFT adapter:     ${run.adapterDir}`);
console.log(`merged model:     ${merged}`);
console.log(`generated:        ${JSON.stringify(text)}`);
