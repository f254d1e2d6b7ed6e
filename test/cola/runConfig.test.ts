// Issue 12: no option is dropped in silence. Each case here was accepted and ignored (or
// silently changed) before the RunConfig was resolved in one place.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { Chain, linkSeed } from '../../src/cola/chain.js';
import { runChain } from '../../src/cola/run.js';
import { makeRunConfig } from '../../src/cola/runConfig.js';
import { ColaError } from '../../src/errors.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { MetricsLog } from '../../src/train/metricsLog.js';
import { lmObjective } from '../../src/train/objective.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { config, examples, model } from './tinyRun.js';

const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `cola-cfg-${name}-`));
const refuses = (fn: () => unknown, re: RegExp): void => assert.throws(fn, (e: unknown) => e instanceof ColaError && re.test(e.message));

test('flags a method does not use are refused, not ignored', () => {
  refuses(() => makeRunConfig({ out: 'x', method: 'lora', chainLength: 3 }), /--chain-length does not apply to --method lora/);
  refuses(() => makeRunConfig({ out: 'x', method: 'lora', knots: ['5'] }), /--knots does not apply to --method lora/);
  refuses(() => makeRunConfig({ out: 'x', method: 'cola', knotEvery: 10 }), /--knot-every does not apply to --method cola/);
  refuses(() => makeRunConfig({ out: 'x', method: 'relora', chainLength: 2 }), /--chain-length does not apply to --method relora/);
  refuses(() => makeRunConfig({ out: 'x', method: 'full', linkRanks: ['4'] }), /--link-ranks does not apply to --method full/);
  refuses(() => makeRunConfig({ out: 'x', method: 'cola', rewarmupSteps: 3 }), /--rewarmup-steps applies to --chain-schedule jagged only/);
  // the same flags where they do apply are taken
  assert.equal(makeRunConfig({ out: 'x', method: 'relora', knotEvery: 10 }).chain.knotEvery, 10);
  assert.equal(makeRunConfig({ out: 'x', method: 'cola', chainLength: 2 }).chain.length, 2);
});

test('bad numbers are refused with every problem at once', () => {
  const err = (() => {
    try {
      makeRunConfig({ out: 'x', lr: -1, weightDecay: -1, maxGradNorm: -1, gradAccum: 0, maxSteps: 0, epochs: 0, linkRanks: ['2.5'] });
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  })();
  for (const flag of ['--lr', '--weight-decay', '--max-grad-norm', '--grad-accum', '--max-steps', '--epochs', '--link-ranks'])
    assert.ok(err.includes(flag), `${flag} is named in: ${err}`);
  assert.match(err, /--link-ranks: expected integers of at least 1/);
});

test('--task with --data, --fewglue with sample sizes, --skip-bad with a task and --max-length 1 are refused', () => {
  refuses(() => makeRunConfig({ out: 'x' }, { task: 'rte', data: 'f.jsonl' }), /--task or --data, not both/);
  refuses(() => makeRunConfig({ out: 'x' }, { task: 'rte', fewglue: true, numTrain: 10 }), /--fewglue uses FewGLUE's fixed/);
  refuses(() => makeRunConfig({ out: 'x' }, { task: 'rte', skipBad: true }), /--skip-bad applies to --data JSONL files/);
  refuses(() => makeRunConfig({ out: 'x' }, { data: 'a.txt', maxLength: 1 }), /--max-length must be at least 2/);
});

test('a partial optimizer reset with link ranks that change is refused (moments of one rank do not fit another)', () => {
  refuses(
    () => makeRunConfig({ out: 'x', method: 'cola', chainLength: 2, linkRanks: ['8', '4'], optimizerReset: 'magnitude:0.9' }),
    /carries Adam moments across knots, but --link-ranks 8,4 changes the rank/,
  );
  assert.equal(
    makeRunConfig({ out: 'x', method: 'cola', chainLength: 2, linkRanks: ['8', '8'], optimizerReset: 'none' }).chain.optimizerReset,
    'none',
  );
});

test("trainBias other than 'none' is refused: cola would neither checkpoint nor export those biases", () => {
  refuses(() => makeRunConfig({ out: 'x' }, {}, { lora: { trainBias: 'all' } }), /trainBias "all" is not supported/);
  refuses(() => makeRunConfig({ out: 'x' }, {}, { lora: { trainBias: 'lora_only' } }), /trainBias "lora_only" is not supported/);
});

test('a rank pattern holds in every link, not only the first; the export stacks Σ r_j per module', () => {
  const dir = tmp('pattern');
  const cfg = makeRunConfig(
    { out: dir, method: 'cola', chainLength: 3, epochs: 3, batchSize: 4, lr: 1e-2, saveEvery: 0 },
    {},
    { lora: { r: 4, alpha: 8, rankPattern: { v_proj: 2 } } },
  );
  const m = model();
  runChain(cfg, { model: m, objective: lmObjective(examples(16), 0), log: new MetricsLog(dir), shouldStop: () => false, baseModel: 't' });
  const f = openSafetensors(path.join(dir, 'adapter', 'adapter_model.safetensors'));
  for (const [name, info] of f.tensors) {
    if (!name.endsWith('lora_A.weight')) continue;
    assert.equal(info.shape[0], name.includes('v_proj') ? 6 : 12, `${name}: three links of rank ${name.includes('v_proj') ? 2 : 4}`);
  }
});

test('chain.json records, per link, the alpha, scale and init seed that were used', () => {
  const dir = tmp('manifest');
  const cfg = makeRunConfig(
    { out: dir, method: 'cola', chainLength: 2, epochs: 2, batchSize: 4, lr: 1e-2, saveEvery: 0, seed: 5, rslora: true },
    {},
    { lora: { r: 4, alpha: 8 } },
  );
  runChain(cfg, {
    model: model(),
    objective: lmObjective(examples(16), 0),
    log: new MetricsLog(dir),
    shouldStop: () => false,
    baseModel: 't',
  });
  const chain = JSON.parse(fs.readFileSync(path.join(dir, 'chain.json'), 'utf8')) as {
    links: { alpha: number; scale: number; init_seed: number }[];
    eval: { select_by: string };
  };
  chain.links.forEach((l, j) => {
    assert.equal(l.alpha, 8);
    assert.ok(Math.abs(l.scale - 8 / Math.sqrt(4)) < 1e-12, 'rsLoRA scale alpha/sqrt(r)');
    assert.equal(l.init_seed, linkSeed(5, j));
  });
  assert.equal(chain.eval.select_by, 'loss');
});

test('every LoRA layer draws its own dropout mask', () => {
  const m = model();
  const cfg = config(tmp('dropout'), { loraDropout: 0.5 });
  const chain = new Chain(m, cfg, [{ index: 0, start: 0, end: 4, rank: 4, lr: 1e-2 }]);
  // the q_proj of both blocks: same shapes; give them the same factors so only the mask can differ
  const qs = chain.layers.filter(([p]) => p.endsWith('q_proj')).map(([, l]) => l);
  assert.equal(qs.length, 2);
  for (const l of qs) {
    l.lora_A.assign(qs[0]!.lora_A.f32.slice());
    l.lora_B.assign(new Float32Array(l.lora_B.size).fill(0.1));
  }
  const x = tensor(
    m.lmHeadWeight().backend,
    Float32Array.from({ length: 3 * 16 }, (_, i) => Math.sin(i) + 1.5),
    [3, 16],
  );
  chain.setTraining(true);
  chain.seedDropout(0);
  const lora = qs.map((l) => noGrad(() => [...l.forward(x).f32].map((v, i) => v - l.base_layer.forward(x).f32[i]!)));
  assert.notDeepEqual(lora[0], lora[1], 'two layers, same input and factors, different masks');
});

test('cola experiment --gradient-checkpointing reaches the run (it was accepted and ignored)', async () => {
  const { cola } = await import('../cli/harness.js');
  const { tinyModelFolder, tinyCorpus } = await import('../helpers/tinyFolder.js');
  const modelDir = tinyModelFolder(4);
  const corpus = tinyCorpus(tmp('gc'), 60);
  const out = tmp('gc-out');
  const r = cola([
    'experiment',
    '--model',
    modelDir,
    '--data',
    corpus,
    '--methods',
    'lora',
    '--lrs',
    '1e-3',
    '--seeds',
    '1',
    '--epochs',
    '1',
    '--batch-size',
    '4',
    '--max-length',
    '16',
    '--out',
    out,
    '--gradient-checkpointing',
  ]);
  // the flag arrives: the cell's run records it in its config.json (the tiny model is a
  // Llama, which checkpoints since issue 17)
  assert.equal(r.status, 0, r.stderr);
  const fs = await import('node:fs');
  const configs = (fs.readdirSync(out, { recursive: true }) as string[]).filter((f) => f.endsWith('config.json'));
  const runs = configs.map((f) => JSON.parse(fs.readFileSync(`${out}/${f}`, 'utf8')) as { run?: { gradientCheckpointing?: boolean } });
  const withRun = runs.filter((c) => c.run);
  assert.ok(withRun.length > 0, `no run config.json under ${out}: ${configs.join(', ')}`);
  assert.ok(withRun.every((c) => c.run!.gradientCheckpointing === true));
});

test('LoRA variants (issue 18): refused with --method full, bad values named; taken where they apply', () => {
  refuses(() => makeRunConfig({ out: 'x', method: 'full', useDora: true }), /--use-dora does not apply to --method full/);
  refuses(() => makeRunConfig({ out: 'x', method: 'full', loraplusLrRatio: 16 }), /--loraplus-lr-ratio does not apply to --method full/);
  refuses(
    () => makeRunConfig({ out: 'x', method: 'full', loraInit: 'pissa' }),
    /--method full trains every weight: LoRA settings \(init "pissa"/,
  );
  refuses(() => makeRunConfig({ out: 'x', loraplusLrRatio: 0 }), /--loraplus-lr-ratio must be a positive number/);
  refuses(() => makeRunConfig({ out: 'x', loraInit: 'pissa_niter_x' }), /init must be "kaiming", "gaussian", "pissa", "pissa_niter_N"/);
  const cfg = makeRunConfig({ out: 'x', method: 'relora', useDora: true, loraInit: 'pissa_niter_4', loraplusLrRatio: 8 });
  assert.deepEqual([cfg.lora.useDora, cfg.lora.init, cfg.optim.loraplusLrRatio], [true, 'pissa_niter_4', 8]);
  assert.equal(makeRunConfig({ out: 'x' }).optim.loraplusLrRatio, undefined);
});
