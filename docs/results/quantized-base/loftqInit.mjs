// Where a 4-bit base's extra loss sits, and what LoftQ's first adapter does to the UNTRAINED model:
// dev loss (the run.sh dev split: Tiny Shakespeare, 64 windows of 128 tokens) of the dense base,
// round-to-nearest codes everywhere, RTN with q_proj / v_proj left dense, RTN on q_proj / v_proj
// only, and RTN + a LoftQ-initialized adapter (r = 8, alpha 16) on q_proj / v_proj or every linear
// layer; last, LoftQ at full rank on q_proj / v_proj, which must equal "q_proj/v_proj dense" (a
// check of the whole path: codes, factors, scale, forward).
// node docs/results/quantized-base/loftqInit.mjs DIR FORMAT  (repository root, after npx tsc). JSON lines.
const root = new URL('../../../dist/src/', import.meta.url).href;
const { loadPretrained } = await import(root + 'api/load.js');
const { prepareData } = await import(root + 'train/prepare.js');
const { applyLora } = await import(root + 'lora/inject.js');
const { DEFAULT_LORA_CONFIG } = await import(root + 'lora/config.js');
const { noGrad } = await import(root + 'tensor/autograd.js');
const [dir, format] = process.argv.slice(2);
const { model: dense, tokenizer } = loadPretrained(dir);
// the split `cola experiment --data tinyshakespeare.txt --num-train 256 --num-dev 64 --num-test 64 --max-length 128` makes
const data = prepareData(
  {
    data: '../shared/data/text/tinyshakespeare.txt',
    heldOut: { devFraction: 0.1, testFraction: 0.1 },
    seed: 0,
    maxLength: 128,
    numTrain: 256,
    numDev: 64,
    numTest: 64,
  },
  tokenizer,
  { contextLength: dense.dims.maxPositions, warn: () => {} },
);
const say = (base, model) => console.log(JSON.stringify({ format, base, dev_loss: noGrad(() => data.evaluate(model, 'dev')).loss }));
const qv = /(q_proj|v_proj)$/;
const denseLayers = () => new Map(loadPretrained(dir).model.namedModules());
/** RTN codes, the layers `keep` selects put back dense */
function mixed(keep) {
  const m = loadPretrained(dir, { quantize: format }).model;
  const d = denseLayers();
  for (const [p] of [...m.namedModules()]) if (keep(p) && d.get(p)?.weight) m.setChild(p, d.get(p));
  return m;
}
function loftq(init, lora) {
  const m = loadPretrained(dir, { quantize: format, keepDense: true }).model;
  applyLora(m, { ...DEFAULT_LORA_CONFIG, init, ...lora }, 0);
  return m;
}
say('dense', dense);
say('RTN', mixed(() => false));
say('RTN, q_proj/v_proj dense', mixed((p) => qv.test(p)));
say('RTN on q_proj/v_proj only', mixed((p) => /_proj$/.test(p) && !qv.test(p)));
say('RTN + LoftQ adapter (1 alternation), q_proj/v_proj', loftq('loftq', {}));
say('RTN + LoftQ adapter (5 alternations), q_proj/v_proj', loftq('loftq_iter_5', {}));
say('RTN + LoftQ adapter (1 alternation), all-linear', loftq('loftq', { targets: 'all-linear' }));
const full = Object.fromEntries(['q_proj', 'v_proj'].map((n) => [n, Math.min(...denseLayers().get('model.layers.0.self_attn.' + n).weight.shape)]));
say('LoftQ at full rank, q_proj/v_proj (= q_proj/v_proj dense)', loftq('loftq', { rankPattern: full }));
