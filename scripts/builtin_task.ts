/** The quickstart's stand-in when ../shared (stories260K, Tiny Shakespeare) is absent:
 * the same story in miniature. A tiny Llama is "pretrained" (full fine-tuning) on
 * synthetic children's stories, then scripts/quickstart.sh adapts it to synthetic
 * archaic verse with LoRA and with COLA, exactly as it does with the real model.
 *
 * node dist/scripts/builtin_task.js OUT_DIR [--data-only]
 * writes OUT_DIR/model-builtin (HF folder), OUT_DIR/train.txt, OUT_DIR/dev.txt (--data-only: the
 * text files alone, for `quickstart.sh --model DIR`). The model is kept between runs
 * (its recipe is stored beside it and compared). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fineTune, loadPretrained, syntheticText, writeTinyModelFolder, type TinyModelOptions } from '../src/index.js';

const TINY: TinyModelOptions = { seed: 1, hiddenSize: 64, intermediateSize: 128, layers: 2, heads: 4, kvHeads: 2, context: 64 };
// Enough for a character-level model to learn the stories' spelling and words (loss ~2),
// while the verse stays unseen (its loss stays high until the adapters learn it).
const PRETRAIN = { lines: 1500, maxSteps: 80, lr: 1e-2, warmupSteps: 8, batchSize: 8, maxLength: 64 };
const RECIPE = JSON.stringify({ TINY, PRETRAIN, version: 1 });
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json'];

function main(out: string, dataOnly: boolean): void {
  fs.mkdirSync(out, { recursive: true });
  if (!dataOnly) ensureModel(out);
  // Half the real quickstart's 24 KB / 6 KB Shakespeare split: one character is one token
  // here, so this is still more tokens than stories260K's tokenizer makes of 24 KB.
  fs.writeFileSync(path.join(out, 'train.txt'), syntheticText('verse', 250, 0).slice(0, 12000));
  fs.writeFileSync(path.join(out, 'dev.txt'), syntheticText('verse', 60, 1).slice(0, 3000));
}

function ensureModel(out: string): void {
  const model = path.join(out, 'model-builtin');
  const recipe = path.join(model, 'cola_builtin.json');
  if (fs.existsSync(recipe) && fs.readFileSync(recipe, 'utf8') === RECIPE) {
    log(`reusing the built-in tiny model in ${model}`);
    return;
  }
  pretrain(out, model);
  fs.writeFileSync(recipe, RECIPE);
}

/** Random tiny model -> full fine-tuning on synthetic stories -> OUT/model-builtin (+ tokenizer). */
function pretrain(out: string, model: string): void {
  const base = writeTinyModelFolder(path.join(out, 'random'), TINY);
  const corpus = path.join(out, 'stories.txt');
  fs.writeFileSync(corpus, syntheticText('stories', PRETRAIN.lines, 0));
  const run = path.join(out, 'pretrain');
  fs.rmSync(run, { recursive: true, force: true });
  const { model: lm, tokenizer } = loadPretrained(base, { dtype: 'f32' });
  log(
    `pretraining a tiny Llama (${TINY.layers} layers, hidden ${TINY.hiddenSize}, character tokenizer) on synthetic stories, ${PRETRAIN.maxSteps} steps`,
  );
  const t0 = Date.now();
  const r = fineTune({
    model: lm,
    tokenizer,
    data: corpus,
    method: 'full',
    maxLength: PRETRAIN.maxLength,
    maxSteps: PRETRAIN.maxSteps,
    lr: PRETRAIN.lr,
    warmupSteps: PRETRAIN.warmupSteps,
    batchSize: PRETRAIN.batchSize,
    saveEvery: 0,
    outDir: run,
    report: false,
  });
  log(`pretrained in ${((Date.now() - t0) / 1000).toFixed(0)} s, final training loss ${r.finalLoss.toFixed(3)}`);
  fs.rmSync(model, { recursive: true, force: true });
  fs.renameSync(path.join(run, 'model'), model);
  for (const f of TOKENIZER_FILES) fs.copyFileSync(path.join(base, f), path.join(model, f));
}

function log(s: string): void {
  process.stderr.write(`quickstart: ${s}\n`);
}

const [out, flag] = process.argv.slice(2);
if (!out || (flag !== undefined && flag !== '--data-only')) {
  process.stderr.write('usage: node dist/scripts/builtin_task.js OUT_DIR [--data-only]\n');
  process.exit(2);
}
main(out, flag === '--data-only');
