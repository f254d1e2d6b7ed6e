import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { captureLink, stackChain, type ChainLink } from '../../src/lora/chain.js';
import { applyLora, loraLayers } from '../../src/lora/inject.js';
import { loadPeftAdapter, saveChainAdapter } from '../../src/lora/peft.js';
import { readJsonObject } from '../../src/io/fileIo.js';
import { assertClose } from '../helpers/tolerance.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { logits, loraConfig, randomizeB, tinyModel } from './tinyModel.js';

const dir = makeTmpDir('lora-chain');
/** three links with different ranks and alphas: scales 8/2, 3/4, 9/3 */
const LINKS = [
  { r: 2, alpha: 8 },
  { r: 4, alpha: 3 },
  { r: 3, alpha: 9 },
];

/** Train-free chain: each link gets a random B, is captured, merged and reset. */
function runChain() {
  const model = tinyModel();
  const cfg = loraConfig({ r: LINKS[0]!.r, alpha: LINKS[0]!.alpha });
  applyLora(model, cfg, 1);
  const chain = new Map<string, ChainLink[]>();
  LINKS.forEach((_, j) => {
    const layers = loraLayers(model);
    randomizeB(
      layers.map(([, l]) => l),
      20 + j,
    );
    for (const [p, l] of layers) chain.set(p, [...(chain.get(p) ?? []), ...captureLink(l)]);
    for (const [, l] of layers) l.merge({ exactUnmerge: false });
    const next = LINKS[j + 1];
    if (next) layers.forEach(([, l], i) => l.resetAdapter(100 * j + i, next.r, next.alpha));
  });
  return { chain, cfg, merged: logits(model) };
}

/** sum_j s_j B_j A_j in f64, straight from the definition. */
function sumOfDeltas(links: ChainLink[]): Float64Array {
  const inF = links[0]!.A.length / links[0]!.r;
  const out = links[0]!.B.length / links[0]!.r;
  const d = new Float64Array(out * inF);
  for (const l of links)
    for (let o = 0; o < out; o++)
      for (let i = 0; i < inF; i++) {
        let acc = 0;
        for (let k = 0; k < l.r; k++) acc += l.B[o * l.r + k]! * l.A[k * inF + i]!;
        d[o * inF + i] += l.scale * acc;
      }
  return d;
}

test('a stacked chain is one LoRA of rank sum(r_j) with the same update', () => {
  const { chain } = runChain();
  const links = chain.get('model.layers.1.self_attn.v_proj')!;
  assert.deepEqual(
    links.map((l) => l.scale),
    [4, 0.75, 3],
  );
  for (const targetScale of [1, 0.5]) {
    const one = stackChain(links, targetScale);
    assert.equal(one.r, 9);
    const got = sumOfDeltas([one]);
    assertClose(got, sumOfDeltas(links), { dtype: 'f32', what: `stacked delta (s = ${targetScale})` });
  }
});

test('the chain as ONE LoRA gives the logits of merging the links one by one', () => {
  const { chain, cfg, merged } = runChain();
  const model = tinyModel();
  const layers = loraLayers((applyLora(model, cfg, 1), model));
  for (const [p, l] of layers) {
    const one = stackChain(chain.get(p)!, 1);
    l.setAdapter(one.A, one.B, one.r, one.r); // alpha = r: s = 1
  }
  assertClose(logits(model), merged, { dtype: 'f32', what: 'stacked-adapter logits' });
});

test('saveChainAdapter writes a PEFT folder that loads back to the same logits', () => {
  const { chain, cfg, merged } = runChain();
  const out = path.join(dir, 'chain');
  saveChainAdapter(out, chain, cfg, { baseModel: 'tiny-llama', colaMeta: { seed: 1 } });
  const json = readJsonObject(path.join(out, 'adapter_config.json'));
  assert.deepEqual([json.r, json.lora_alpha, json.use_rslora, json.rank_pattern], [9, 9, false, {}]);
  assert.equal(json.cola, undefined);
  const meta = readJsonObject(path.join(out, 'cola_chain.json'));
  assert.deepEqual(meta.links, [
    { r: 2, scale: 4 },
    { r: 4, scale: 0.75 },
    { r: 3, scale: 3 },
  ]);
  const model = tinyModel();
  const loaded = loadPeftAdapter(model, out);
  assert.equal(loaded.layers[0]!.scaling, 1);
  assertClose(logits(model), merged, { dtype: 'f32', what: 'loaded chain logits' });
});
