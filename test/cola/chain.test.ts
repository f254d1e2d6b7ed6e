import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { runChain } from '../../src/cola/run.js';
import { Chain } from '../../src/cola/chain.js';
import { loadPeftAdapter } from '../../src/lora/peft.js';
import { MetricsLog } from '../../src/train/metricsLog.js';
import { lmObjective } from '../../src/train/objective.js';

import { stepLosses } from '../helpers/trainRuns.js';
import { config, examples, logitsOf, model } from './tinyRun.js';

test('a knot adds s*B*A to the base, re-draws A, zeroes B, and builds a new optimizer with empty moments', () => {
  const m = model();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-knot-'));
  const cfg = config(dir, { linkRanks: [4, 2] });
  const chain = new Chain(m, cfg, [
    { index: 0, start: 0, end: 2, rank: 4, lr: 1e-2 },
    { index: 1, start: 2, end: 4, rank: 2, lr: 1e-2 },
  ]);
  const layers = chain.layers;
  for (const [, l] of layers) l.lora_B.f32.forEach((_, i, b) => (b[i] = Math.sin(i + 1) * 0.1));
  chain.optimizer.m[0]!.fill(0.5); // moments a full reset must not carry
  chain.optimizer.t = 7;
  const oldOptimizer = chain.optimizer;
  const oldA = layers.map(([, l]) => l.lora_A.f32.slice());
  const before = logitsOf(m);
  const expected = layers.map(([, l]) => {
    const w = l.base_layer.weight.f32.slice();
    const [out, inF] = l.base_layer.weight.shape as [number, number];
    for (let o = 0; o < out; o++)
      for (let i = 0; i < inF; i++) {
        let s = 0;
        for (let k = 0; k < l.r; k++) s += l.lora_B.f32[o * l.r + k]! * l.lora_A.f32[k * inF + i]!;
        w[o * inF + i] += l.scaling * s;
      }
    return w;
  });
  const { deltaNorm } = chain.knot(chain.links[0]!, chain.links[1]!);
  assert.ok(deltaNorm > 0);
  layers.forEach(([, l], j) => {
    l.base_layer.weight.f32.forEach((x, i) => assert.ok(Math.abs(x - expected[j]![i]!) < 1e-6, 'W <- W + s B A'));
    assert.ok(
      l.lora_B.f32.every((x) => x === 0),
      'B is zero after the knot',
    );
    assert.equal(l.r, 2, 'the next link has the stepped-down rank');
    const bound = 1 / Math.sqrt(l.inFeatures);
    assert.ok(
      l.lora_A.f32.every((x) => Math.abs(x) <= bound),
      'the new A is Kaiming-uniform',
    );
    assert.notDeepEqual([...l.lora_A.f32], [...oldA[j]!.slice(0, l.lora_A.f32.length)], 'A is re-drawn');
  });
  const after = logitsOf(m);
  before.forEach((x, i) => assert.ok(Math.abs(x - after[i]!) < 1e-5, 'the merge does not change the outputs'));
  assert.notEqual(chain.optimizer, oldOptimizer, 'a new optimizer');
  assert.equal(chain.optimizer.t, 0, 'its step count starts at 0');
  assert.ok(
    chain.optimizer.m.every((x) => x.every((v) => v === 0)) && chain.optimizer.v.every((x) => x.every((v) => v === 0)),
    'its moments are all zero',
  );
  assert.deepEqual(
    chain.optimizer.params,
    layers.flatMap(([, l]) => [l.lora_A, l.lora_B]),
    'it trains exactly the new factors',
  );
});

test('COLA run: base frozen within a link, exported single adapter on the original base equals the merged model', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-chain-'));
  const m = model();
  const original = new Map([...m.namedParameters()].map(([n, t]) => [n, t.f32.slice()]));
  const cfg = config(dir, { linkRanks: [4, 4, 2] });
  const summary = runChain(cfg, {
    model: m,
    objective: lmObjective(examples(16), 0),
    log: new MetricsLog(dir),
    shouldStop: () => false,
    baseModel: 'tiny',
  });
  assert.equal(summary.links.length, 3);
  const events = fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const knots = events.filter((e) => e.event === 'knot');
  assert.equal(knots.length, 2);
  for (const k of knots) assert.ok(Math.abs(k.loss_before - k.loss_after) < 1e-4, 'a knot does not change the loss');
  // untargeted weights never change
  for (const [n, t] of m.namedParameters())
    if (!n.includes('q_proj') && !n.includes('v_proj') && original.has(n)) assert.deepEqual(t.f32, original.get(n));
  const trained = logitsOf(m);
  // The exported adapter, applied to a fresh copy of the original base, reproduces the trained model.
  const fresh = model();
  loadPeftAdapter(fresh, path.join(dir, 'adapter'));
  const viaAdapter = logitsOf(fresh);
  trained.forEach((x, i) => assert.ok(Math.abs(x - viaAdapter[i]!) < 1e-4, `logit ${i}: ${x} vs ${viaAdapter[i]}`));
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'chain.json'), 'utf8'));
  assert.deepEqual(
    manifest.links.map((l: { rank: number }) => l.rank),
    [4, 4, 2],
  );
  const adapterCfg = JSON.parse(fs.readFileSync(path.join(dir, 'adapter', 'adapter_config.json'), 'utf8'));
  assert.equal(adapterCfg.r, 10, 'the chain is one LoRA of rank sum(r_j)');
  assert.ok(fs.existsSync(path.join(dir, 'links', 'link-2', 'adapter_model.safetensors')));
});

test('same seed, same backend: identical losses; a stopped run resumes to the same loss curve', () => {
  const a = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-a-'));
  const b = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-b-'));
  const c = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-c-'));
  const run = (dir: string, stopAt: number | null, resume: boolean): void => {
    let steps = 0;
    const log = new MetricsLog(dir, [(e) => (steps = e.event === 'step' ? (e['step'] as number) : steps)]);
    runChain(config(dir, { resume }), {
      model: model(),
      objective: lmObjective(examples(16), 0),
      log,
      shouldStop: () => stopAt !== null && steps >= stopAt,
      baseModel: 'tiny',
    });
  };
  run(a, null, false);
  run(b, null, false);
  assert.deepEqual(stepLosses(a), stepLosses(b));
  run(c, 5, false); // stops after step 5, mid-link 2 (knots at 4 and 8)
  assert.equal(stepLosses(c).length, 5);
  run(c, null, true);
  assert.deepEqual(stepLosses(c), stepLosses(a));
});
