/** adapter folders are untrusted: crafted regexes, modules_to_save and a damaged
 * cola_chain.json are refused quickly, naming the file and the key. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../../src/errors.js';
import { readJsonObject, writeJsonAtomic } from '../../src/io/fileIo.js';
import { validateLoraConfig } from '../../src/lora/config.js';
import { applyLora } from '../../src/lora/inject.js';
import { loadPeftAdapter, saveLoraAdapter } from '../../src/lora/peft.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { loraConfig, randomizeB, tinyModel } from './tinyModel.js';

const dir = makeTmpDir('lora-peft-hostile');

/** A saved adapter whose adapter_config.json is then edited by `edit`. */
function adapter(name: string, edit: (json: Record<string, unknown>) => void): string {
  const model = tinyModel();
  const cfg = loraConfig();
  randomizeB(applyLora(model, cfg, 3), 3);
  const out = path.join(dir, name);
  saveLoraAdapter(out, model, cfg, { baseModel: 'tiny-llama' });
  const file = path.join(out, 'adapter_config.json');
  const json = readJsonObject(file);
  edit(json);
  writeJsonAtomic(file, json);
  return out;
}

function refuses(out: string, ...parts: (string | RegExp)[]): void {
  const t0 = Date.now();
  assert.throws(
    () => loadPeftAdapter(tinyModel(), out),
    (e: unknown) => {
      assert.ok(e instanceof ColaError, String(e));
      for (const p of parts) assert.match(e.message, typeof p === 'string' ? new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : p);
      return true;
    },
  );
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
}

test('a catastrophic target_modules or rank_pattern regex is refused, naming file and key', () => {
  refuses(
    adapter('target-redos', (j) => (j.target_modules = '(.|.)*z')),
    'adapter_config.json',
    'target_modules regex "(.|.)*z"',
    /unbounded time/,
  );
  refuses(
    adapter('rank-redos', (j) => (j.rank_pattern = { '(.|.)*z': 2 })),
    'adapter_config.json',
    'rank_pattern key "(.|.)*z"',
  );
  refuses(
    adapter('alpha-redos', (j) => (j.alpha_pattern = { '(a+)+$': 2 })),
    'alpha_pattern key "(a+)+$"',
  );
  // and through the typed config (CLI --target-regex) too
  assert.throws(
    () => validateLoraConfig(loraConfig({ targets: [], targetRegex: '(x+x+)+y' }), '--target-regex'),
    (e: unknown) => e instanceof ColaError && /--target-regex.*targetRegex "\(x\+x\+\)\+y" is refused/s.test(e.message),
  );
});

test('a plain regex target_modules still loads', () => {
  const out = adapter('regex-ok', (j) => (j.target_modules = '.*\\.(q_proj|v_proj)'));
  assert.equal(loadPeftAdapter(tinyModel(), out).layers.length, 4);
});

test('modules_to_save is refused, naming the modules that have no tensors', () => {
  refuses(
    adapter('mts', (j) => (j.modules_to_save = ['lm_head'])),
    'adapter_config.json',
    'modules_to_save lists "lm_head"',
    /holds no tensors/,
  );
  refuses(
    adapter('mts-bad', (j) => (j.modules_to_save = 'lm_head')),
    'modules_to_save must be null or a list',
  );
  assert.equal(
    loadPeftAdapter(
      tinyModel(),
      adapter('mts-null', (j) => (j.modules_to_save = null)),
    ).layers.length,
    4,
  );
});

test('a corrupt cola_chain.json beside the adapter is refused, naming the file', () => {
  const out = adapter('chain', () => {});
  fs.writeFileSync(path.join(out, 'cola_chain.json'), '{"links": [1, 2');
  refuses(out, path.join(out, 'cola_chain.json'), /damaged/);
  fs.writeFileSync(path.join(out, 'cola_chain.json'), '{"links": []}');
  assert.equal(loadPeftAdapter(tinyModel(), out).layers.length, 4);
});
