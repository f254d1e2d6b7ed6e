import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../../src/errors.js';
import { readJsonObject } from '../../src/io/fileIo.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { writeSafetensors, type TensorToWrite } from '../../src/io/safetensorsWriter.js';
import { writeJsonAtomic } from '../../src/io/fileIo.js';
import { applyLora, loraLayers } from '../../src/lora/inject.js';
import { loadPeftAdapter, saveLoraAdapter } from '../../src/lora/peft.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { logits, loraConfig, randomizeB, tinyModel } from './tinyModel.js';

const dir = makeTmpDir('lora-peft');

function savedAdapter(name: string, cfg = loraConfig({ rankPattern: { v_proj: 2 }, useRslora: true })) {
  const model = tinyModel();
  randomizeB(applyLora(model, cfg, 3), 3);
  const out = path.join(dir, name);
  saveLoraAdapter(out, model, cfg, { baseModel: 'tiny-llama' });
  return { out, want: logits(model), cfg };
}

test('adapter_config.json has PEFT keys only; tensors are PEFT-named f32 [r, in] / [out, r]', () => {
  const { out } = savedAdapter('layout');
  const json = readJsonObject(path.join(out, 'adapter_config.json'));
  // field names of PEFT's LoraConfig / PeftConfig (peft/tuners/lora/config.py, peft/config.py)
  const peftFields = new Set(
    'peft_type task_type base_model_name_or_path revision inference_mode r lora_alpha lora_dropout target_modules exclude_modules use_rslora rank_pattern alpha_pattern bias fan_in_fan_out init_lora_weights use_dora modules_to_save layers_to_transform layers_pattern'.split(
      ' ',
    ),
  );
  assert.deepEqual(
    Object.keys(json).filter((k) => !peftFields.has(k)),
    [],
    'no key PEFT does not know',
  );
  assert.deepEqual(json.target_modules, ['q_proj', 'v_proj']);
  assert.deepEqual(
    [json.peft_type, json.task_type, json.r, json.lora_alpha, json.use_rslora, json.bias],
    ['LORA', 'CAUSAL_LM', 4, 8, true, 'none'],
  );
  assert.deepEqual(json.rank_pattern, { v_proj: 2 });
  assert.equal(json.fan_in_fan_out, false);
  assert.equal(fs.existsSync(path.join(out, 'cola_chain.json')), false);
  const st = openSafetensors(path.join(out, 'adapter_model.safetensors'));
  assert.equal(st.tensors.size, 8);
  assert.deepEqual(st.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!.shape, [4, 16]);
  assert.deepEqual(st.tensors.get('base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight')!.shape, [8, 2]);
  assert.equal(st.tensors.get('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight')!.dtype, 'F32');
});

test('save -> load round trip gives identical logits', () => {
  const { out, want } = savedAdapter('roundtrip');
  const model = tinyModel();
  const { layers, config } = loadPeftAdapter(model, out);
  assert.deepEqual(
    layers.map((l) => l.r),
    [4, 2, 4, 2],
  );
  assert.equal(config.useRslora, true);
  assert.deepEqual(logits(model), want);
});

test('rank changed after a knot (rank step-down) is written as rank_pattern', () => {
  const cfg = loraConfig();
  const model = tinyModel();
  applyLora(model, cfg, 3);
  const layers = loraLayers(model);
  layers.forEach(([p, l], i) => (p.includes('layers.1') ? l.resetAdapter(i, 2, 3) : undefined));
  randomizeB(
    layers.map(([, l]) => l),
    4,
  );
  const out = path.join(dir, 'stepdown');
  saveLoraAdapter(out, model, cfg, { baseModel: 'tiny' });
  const json = readJsonObject(path.join(out, 'adapter_config.json'));
  assert.deepEqual(json.rank_pattern, { 'layers\\.1\\.self_attn\\.q_proj': 2, 'layers\\.1\\.self_attn\\.v_proj': 2 });
  const again = tinyModel();
  loadPeftAdapter(again, out);
  assert.deepEqual(logits(again), logits(model));
});

test('keys with the .default. adapter name load too', () => {
  const { out, want } = savedAdapter('default-name');
  const st = openSafetensors(path.join(out, 'adapter_model.safetensors'));
  const renamed: TensorToWrite[] = [...st.tensors.keys()].map((k) => ({
    name: k.replace(/\.(lora_[AB])\.weight$/, '.$1.default.weight'),
    dtype: 'F32',
    shape: st.tensors.get(k)!.shape,
    data: st.read(k),
  }));
  writeSafetensors(path.join(out, 'adapter_model.safetensors'), renamed);
  const model = tinyModel();
  loadPeftAdapter(model, out);
  assert.deepEqual(logits(model), want);
});

test('a malformed adapter gives one ColaError listing every problem', () => {
  const { out } = savedAdapter('bad', loraConfig());
  const file = path.join(out, 'adapter_model.safetensors');
  const st = openSafetensors(file);
  const tensors: TensorToWrite[] = [];
  for (const k of st.tensors.keys()) {
    if (k.includes('layers.0.self_attn.q_proj.lora_B')) continue; // missing
    const shape = st.tensors.get(k)!.shape;
    const wrong = k.includes('layers.1.self_attn.v_proj.lora_A'); // wrong in-features
    tensors.push({ name: k, dtype: 'F32', shape: wrong ? [4, 8] : shape, data: wrong ? st.read(k).slice(0, 32) : st.read(k) });
  }
  tensors.push({
    name: 'base_model.model.model.layers.0.mlp.up_proj.lora_A.weight',
    dtype: 'F32',
    shape: [4, 16],
    data: new Float32Array(64),
  });
  writeSafetensors(file, tensors);
  const json = readJsonObject(path.join(out, 'adapter_config.json'));
  writeJsonAtomic(path.join(out, 'adapter_config.json'), { ...json, rank_pattern: { 'layers\\.1\\.self_attn\\.q_proj': 6 } }); // wrong r
  const model = tinyModel();
  assert.throws(
    () => loadPeftAdapter(model, out),
    (e: unknown) => {
      assert.ok(e instanceof ColaError);
      assert.match(e.message, /missing key base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_B\.weight \[16, 4\]/);
      assert.match(e.message, /layers\.1\.self_attn\.v_proj\.lora_A\.weight: expected shape \[4, 16\], found \[4, 8\]/);
      assert.match(e.message, /layers\.1\.self_attn\.q_proj\.lora_A\.weight: rank 4 in the file, but adapter_config\.json .* says 6/);
      assert.match(e.message, /layers\.1\.self_attn\.q_proj\.lora_B\.weight: rank 4 in the file/);
      assert.match(e.message, /model\.layers\.0\.mlp\.up_proj: target_modules/);
      return true;
    },
  );
  assert.equal(loraLayers(model).length, 0, 'nothing is applied when the adapter is rejected');
});

test('a folder without adapter_config.json or with a non-LoRA config is refused clearly', () => {
  const empty = path.join(dir, 'empty');
  fs.mkdirSync(empty, { recursive: true });
  assert.throws(() => loadPeftAdapter(tinyModel(), empty), /adapter_config\.json is missing/);
  const { out } = savedAdapter('ia3');
  const json = readJsonObject(path.join(out, 'adapter_config.json'));
  writeJsonAtomic(path.join(out, 'adapter_config.json'), { ...json, peft_type: 'IA3', r: 0 });
  assert.throws(() => loadPeftAdapter(tinyModel(), out), /peft_type must be "LORA"[\s\S]*r must be a positive integer/);
});
