// LoRA variants (issue 18) under every method that uses adapters: DoRA, PiSSA/OLoRA
// inits and LoRA+. Each: knots leave the model unchanged, the exported adapter/ on the
// ORIGINAL weights reproduces the trained model, and a stopped run resumes to the same
// loss curve bit for bit.
import type { Linear } from '../../src/nn/linear.js';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { Chain } from '../../src/cola/chain.js';
import { runChain } from '../../src/cola/run.js';
import type { RunFlags } from '../../src/cola/runFlags.js';
import { rowNorms } from '../../src/lora/dora.js';
import { loadPeftAdapter } from '../../src/lora/peft.js';
import { readJsonObject } from '../../src/io/fileIo.js';
import { MetricsLog } from '../../src/train/metricsLog.js';
import { lmObjective } from '../../src/train/objective.js';
import { stepLosses } from '../helpers/trainRuns.js';
import { config, examples, logitsOf, model } from './tinyRun.js';

type Variant = Partial<Omit<RunFlags, 'linkRanks'>>;
const VARIANTS: [string, Variant][] = [
  ['dora', { useDora: true }],
  ['pissa', { loraInit: 'pissa' }],
  ['pissa_niter_2', { loraInit: 'pissa_niter_2' }],
  ['olora', { loraInit: 'olora' }],
  ['loraplus', { loraplusLrRatio: 16 }],
  ['dora+pissa+loraplus', { useDora: true, loraInit: 'pissa', loraplusLrRatio: 4 }],
];
const METHODS: [string, Variant][] = [
  ['cola', { method: 'cola' }],
  ['relora', { method: 'relora', knotEvery: 4, chainLength: undefined }],
  ['lora', { method: 'lora', chainLength: undefined, saveLinkAdapters: false }],
];

function run(dir: string, over: Variant, stopAt: number | null = null, resume = false) {
  let steps = 0;
  const log = new MetricsLog(dir, [(e) => (steps = e.event === 'step' ? (e['step'] as number) : steps)]);
  const m = model();
  const summary = runChain(config(dir, { ...over, resume }), {
    model: m,
    objective: lmObjective(examples(16), 0),
    log,
    shouldStop: () => stopAt !== null && steps >= stopAt,
    baseModel: 'tiny',
  });
  return { m, summary };
}

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `cola-variant-${name}-`));

for (const [vname, variant] of VARIANTS) {
  for (const [mname, method] of METHODS) {
    test(`${mname} + ${vname}: knots keep the loss, adapter/ on the original weights = the trained model, exact resume`, () => {
      const over = { ...method, ...variant };
      const a = tmp(`${mname}-${vname}`);
      const { m } = run(a, over);
      const events = fs
        .readFileSync(path.join(a, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const knots = events.filter((e) => e.event === 'knot');
      assert.equal(knots.length, mname === 'lora' ? 0 : 2);
      for (const k of knots)
        assert.ok(Math.abs(k.loss_before - k.loss_after) < 1e-4, `knot at ${k.step}: ${k.loss_before} -> ${k.loss_after}`);
      const trained = logitsOf(m);
      const fresh = model();
      const untrained = logitsOf(fresh);
      const { config: exported } = loadPeftAdapter(fresh, path.join(a, 'adapter'));
      assert.equal(exported.useDora, variant.useDora === true);
      const viaAdapter = logitsOf(fresh);
      trained.forEach((x, i) => assert.ok(Math.abs(x - viaAdapter[i]!) < 1e-4, `logit ${i}: ${x} vs ${viaAdapter[i]}`));
      assert.ok(
        trained.some((x, i) => Math.abs(x - untrained[i]!) > 1e-3),
        'training moved the model (the check can fail)',
      );
      if (mname !== 'cola') return; // resume exactness once per variant is enough
      const c = tmp(`${vname}-resume`);
      run(c, over, 5);
      assert.equal(stepLosses(c).length, 5);
      run(c, over, null, true);
      assert.deepEqual(stepLosses(c), stepLosses(a));
    });
  }
}

test('DoRA knot: merge folds the DoRA weight, the next link starts with m = ||W_merged||_row and B = 0', () => {
  const cfg = config(tmp('dora-knot'), { useDora: true });
  const m = model();
  const chain = new Chain(m, cfg, [
    { index: 0, start: 0, end: 2, rank: 4, lr: 1e-2 },
    { index: 1, start: 2, end: 4, rank: 4, lr: 1e-2 },
  ] as never);
  for (const [, l] of chain.layers) {
    l.lora_B.f32.forEach((_, i, b) => (b[i] = Math.sin(i) * 0.2));
    l.lora_magnitude_vector!.f32.forEach((x, i, v) => (v[i] = x * (1 + 0.1 * Math.cos(i))));
  }
  const before = logitsOf(m);
  const oldMagnitudes = chain.layers.map(([, l]) => l.lora_magnitude_vector!);
  chain.knot(chain.links[0]!, chain.links[1]!);
  const after = logitsOf(m);
  before.forEach((x, i) => assert.ok(Math.abs(x - after[i]!) < 1e-5));
  chain.layers.forEach(([, l], j) => {
    assert.notEqual(l.lora_magnitude_vector, oldMagnitudes[j], 'a new magnitude tensor (no optimizer state carries over)');
    assert.deepEqual(l.lora_magnitude_vector!.f32, rowNorms((l.base_layer as Linear).weight.f32, null, l.outFeatures));
    assert.ok(l.lora_B.f32.every((x) => x === 0));
  });
  assert.ok(chain.optimizer.params.includes(chain.layers[0]![1].lora_magnitude_vector!), 'the magnitude trains');
});

test('LoRA+: the optimizer has lora_A at lr and lora_B (and DoRA magnitudes) at lr * ratio, in every link', () => {
  const cfg = config(tmp('loraplus'), { loraplusLrRatio: 16, useDora: true });
  const chain = new Chain(model(), cfg, [
    { index: 0, start: 0, end: 2, rank: 4, lr: 1e-2 },
    { index: 1, start: 2, end: 4, rank: 4, lr: 1e-2 },
  ] as never);
  const check = (): void => {
    const [A, B] = chain.optimizer.groups;
    assert.deepEqual([A!.name, A!.lrScale, B!.name, B!.lrScale], ['lora_A', 1, 'lora_B', 16]);
    assert.deepEqual(
      A!.params,
      chain.layers.map(([, l]) => l.lora_A),
    );
    assert.deepEqual(
      B!.params,
      chain.layers.flatMap(([, l]) => [l.lora_B, l.lora_magnitude_vector!]),
    );
    chain.optimizer.params.forEach((p, i) =>
      assert.equal(chain.optimizer.lrScales[i], p === chain.layers[0]![1].lora_A ? 1 : chain.optimizer.lrScales[i]),
    );
  };
  check();
  chain.knot(chain.links[0]!, chain.links[1]!);
  check();
});

test('PiSSA knot: the next link is the top-r SVD of the merged weight, which becomes the residual; the export has rank 2 sum r_j', () => {
  const a = tmp('pissa-export');
  run(a, { loraInit: 'pissa' });
  const json = readJsonObject(path.join(a, 'adapter', 'adapter_config.json'));
  assert.equal(json.r, 2 * 3 * 4, 'three links of rank 4, each with its init fold');
  assert.equal(json.init_lora_weights, true);
  const chainJson = readJsonObject(path.join(a, 'chain.json'));
  assert.equal((chainJson.exported_adapter as { rank: number }).rank, 24);
});
