// Issue 16 item 8: `cola models` lists the architectures and their LoRA target names, and
// what it lists is what the models hold; `cola convert --help` says which llama2.c files it reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceBackend } from '../../src/backend/reference/index.js';
import { linearModules } from '../../src/lora/inject.js';
import { loadModel } from '../../src/models/load.js';
import { modelFamilies, modelFamily } from '../../src/models/registry.js';
import { fixtureNames, fixturesDir } from '../models/fixtures.js';
import { cola } from './harness.js';
import * as path from 'node:path';

test('every family lists exactly the Linear modules of its blocks (checked on every fixture model)', () => {
  for (const name of fixtureNames()) {
    const model = loadModel(path.join(fixturesDir, name), { backend: referenceBackend });
    const family = modelFamily(model.dims.modelType, name);
    // paths inside block 0: model.layers.0.self_attn.q_proj -> self_attn.q_proj
    const inBlock = linearModules(model).flatMap(([p]) => {
      const m = /(?:^|\.)(?:layers|h)\.0\.(.+)$/.exec(p);
      return m ? [m[1]!] : [];
    });
    assert.deepEqual([...inBlock].sort(), [...family.blockLinears].sort(), name);
  }
});

test('cola models lists every registered model_type, its targets, and where the default targets miss', () => {
  const r = cola(['models', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.default_targets, ['q_proj', 'v_proj']);
  const types = out.families.flatMap((f: { model_types: string[] }) => f.model_types).sort();
  assert.deepEqual(
    types,
    modelFamilies()
      .flatMap((f) => f.modelTypes)
      .sort(),
  );
  for (const t of ['llama', 'opt', 'gpt2', 'qwen3', 'gemma2', 'gemma3_text', 'phi3']) assert.ok(types.includes(t), t);
  // Phi-3's fused layers carry PEFT's names; the default q_proj,v_proj miss them
  const phi3 = out.families.find((f: { model_types: string[] }) => f.model_types.includes('phi3'));
  assert.deepEqual(phi3.block_linears, ['self_attn.qkv_proj', 'self_attn.o_proj', 'mlp.gate_up_proj', 'mlp.down_proj']);
  assert.equal(phi3.default_targets_apply, false);
  const gemma = out.families.find((f: { model_types: string[] }) => f.model_types.includes('gemma2'));
  assert.equal(gemma.default_targets_apply, true);
  const gpt2 = out.families.find((f: { model_types: string[] }) => f.model_types.includes('gpt2'));
  assert.equal(gpt2.default_targets_apply, false);
  assert.ok(gpt2.block_linears.includes('attn.c_attn'));
  const text = cola(['models']).stdout;
  assert.match(text, /llama, mistral, qwen2, qwen3: .*\n {2}LoRA targets .*self_attn\.q_proj/);
  assert.match(text, /gemma2, gemma3_text: .*\n {2}LoRA targets .*mlp\.gate_proj/);
  assert.match(text, /the default --targets q_proj,v_proj match nothing here/);
});

test('cola convert --help names the llama2.c versions it reads and what it writes', () => {
  const r = cola(['convert', '--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /version 0 \(legacy float32, run\.c\), 1 \(float32\) or 2 \(int8 Q8_0\)/);
  assert.match(r.stdout, /TOKENIZER\.bin/);
  assert.match(r.stdout, /model\.safetensors, tokenizer\.json/);
});
