import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { runChain } from '../../src/cola/run.js';
import { Chain } from '../../src/cola/chain.js';
import { loraLayers } from '../../src/lora/inject.js';
import type { Linear } from '../../src/nn/linear.js';
import { loadPeftAdapter } from '../../src/lora/peft.js';
import { readJsonObject } from '../../src/io/fileIo.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { loadCheckpoint, type Checkpoint } from '../../src/train/checkpoint.js';
import { MetricsLog } from '../../src/train/metricsLog.js';
import { lmObjective } from '../../src/train/objective.js';

import { stepLosses } from '../helpers/trainRuns.js';
import { CONFIG, config, examples, logitsOf, model } from './tinyRun.js';

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
    const w = (l.base_layer as Linear).weight.f32.slice();
    const [out, inF] = (l.base_layer as Linear).weight.shape as [number, number];
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
    (l.base_layer as Linear).weight.f32.forEach((x, i) => assert.ok(Math.abs(x - expected[j]![i]!) < 1e-6, 'W <- W + s B A'));
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

/** A fresh A: differs from the one before the knot, nonzero, inside U(-1/sqrt(in), 1/sqrt(in)). */
function assertFreshA(A: Float32Array, inFeatures: number, old: Float32Array): void {
  assert.notDeepEqual(A, old, 'A is re-initialised');
  assert.ok(A.some((v) => v !== 0) && A.every((v) => Math.abs(v) <= 1 / Math.sqrt(inFeatures)), 'A within the Kaiming bound');
}

test('in a run, the link after a knot starts with a fresh A, B = 0 and a new optimizer (moments zero, t = 0)', () => {
  // stop right after the knot at step 4: the checkpoint then holds the new link's factors and optimizer
  const stopAt = (dir: string, at: number): Checkpoint => {
    let steps = 0;
    const log = new MetricsLog(dir, [(e) => (steps = e.event === 'step' ? (e['step'] as number) : steps)]);
    runChain(config(dir), {
      model: model(),
      objective: lmObjective(examples(16), 0),
      log,
      shouldStop: () => steps >= at,
      baseModel: 'tiny',
    });
    return loadCheckpoint(dir)!;
  };
  const optimizerState = (c: Checkpoint): Float32Array[] => [...c.arrays].filter(([k]) => k.startsWith('optim.')).map(([, x]) => x);
  // the checkpoint does show a used optimizer: stopped mid-link at step 3, its moments are nonzero
  const mid = stopAt(fs.mkdtempSync(path.join(os.tmpdir(), 'cola-mid-')), 3);
  assert.equal(mid.state['step'], 3);
  assert.equal(mid.state['optimT'], 3);
  assert.ok(optimizerState(mid).some((x) => x.some((v) => v !== 0)));
  const knot = stopAt(fs.mkdtempSync(path.join(os.tmpdir(), 'cola-knot-')), 4);
  assert.equal(knot.state['step'], 4, 'stopped at the first knot (links of 4 steps)');
  assert.equal(knot.state['optimT'], 0, 'the new optimizer has taken no step');
  const state = optimizerState(knot);
  assert.ok(state.length > 0 && state.every((x) => x.every((v) => v === 0)), 'its moments are all zero');
  const live = [...knot.arrays.keys()].filter((k) => k.startsWith('live.') && k.endsWith('.A'));
  assert.ok(live.length > 0);
  for (const k of live) {
    const p = k.slice('live.'.length, -'.A'.length);
    const inFeatures = CONFIG.hidden_size; // the targets q_proj and v_proj read the hidden state
    assertFreshA(knot.arrays.get(k)!, inFeatures, knot.arrays.get(`link.0.${p}.A`)!);
    assert.ok(
      knot.arrays.get(`live.${p}.B`)!.every((v) => v === 0),
      `${p}: B is zero`,
    );
  }
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
  // targeted base weights change only at the knots: original + s_0 B_0 A_0 + s_1 B_1 A_1 (links 0 and 1, from links/link-j)
  for (const [p, l] of loraLayers(m)) {
    const want = Float64Array.from(original.get(`${p}.weight`) ?? original.get(`${p}.base_layer.weight`)!);
    const [out, inF] = (l.base_layer as Linear).weight.shape as [number, number];
    for (const j of [0, 1]) {
      const folder = path.join(dir, 'links', `link-${j}`);
      const json = readJsonObject(path.join(folder, 'adapter_config.json'));
      const [r, s] = [json.r as number, (json.lora_alpha as number) / (json.r as number)];
      const st = openSafetensors(path.join(folder, 'adapter_model.safetensors'));
      const [A, B] = [st.read(`base_model.model.${p}.lora_A.weight`), st.read(`base_model.model.${p}.lora_B.weight`)];
      for (let o = 0; o < out; o++)
        for (let i = 0; i < inF; i++) for (let k = 0; k < r; k++) want[o * inF + i]! += s * B[o * r + k]! * A[k * inF + i]!;
    }
    (l.base_layer as Linear).weight.f32.forEach((x, i) => assert.ok(Math.abs(x - want[i]!) < 1e-6, `${p} [${i}]: ${x} vs ${want[i]}`));
  }
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
