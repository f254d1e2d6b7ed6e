// calibrateQuantize cost, and the base's loss on TinyStories (its own domain, as QUANTIZATION.md's
// "Quality of the base alone" table) after calibration on Tiny Shakespeare:
// node docs/results/quantized-base/baseTinystories.mjs DIR FORMAT N  (from the repository root after
// npx tsc; N = 0: round-to-nearest; FORMAT none: the dense base). One JSON line.
const root = new URL('../../../dist/src/', import.meta.url).href;
const { loadPretrained } = await import(root + 'api/load.js');
const { prepareData } = await import(root + 'train/prepare.js');
const { quantizeCalibrated } = await import(root + 'api/calibratedBase.js');
const { evaluateFiles } = await import(root + 'api/evaluateFiles.js');
const { noGrad } = await import(root + 'tensor/autograd.js');
const [dir, format, n] = process.argv.slice(2);
const N = Number(n);
const { model, tokenizer } = loadPretrained(dir, { quantize: N === 0 && format !== 'none' ? format : undefined });
let r = {};
const t0 = performance.now();
if (N > 0) {
  const data = prepareData({ data: '../shared/data/text/tinyshakespeare.txt', seed: 0, numTrain: 256, numDev: 64, numTest: 64, maxLength: 128 }, tokenizer, { contextLength: model.dims.maxPositions, warn: () => {} });
  r = quantizeCalibrated(model, data.train, { format, examples: N });
}
const seconds = +((performance.now() - t0) / 1000).toFixed(2);
const m = noGrad(() => evaluateFiles(model, tokenizer, ['../shared/data/text/tinystories_sample.txt'], { maxLength: model.dims.maxPositions }));
console.log(JSON.stringify({ dir, format, examples: N, ...r, seconds, tinystories_loss: m.loss }));
