// examples/finetune.mjs (the walk-through of docs/API.md) runs and does what it says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeTinyModelFolder } from '../../src/api/tinyModel.js';
import { repoRoot } from '../cli/harness.js';
import { makeTmpDir } from '../io/tmpdir.js';

function runExample(args: string[]): Record<string, string> {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'examples/finetune.mjs'), ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, COLA_BACKEND: 'reference' },
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  // "key:   value" lines
  const out = Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
  );
  process.on('exit', () => fs.rmSync(path.dirname(path.dirname(out['PEFT adapter']!)), { recursive: true, force: true }));
  return out;
}

test('the example trains a 2-link COLA chain, exports a PEFT adapter that reproduces it, merges and generates', () => {
  const out = runExample([]);
  assert.deepEqual(out['links'], '0-4 (rank 8), 4-8 (rank 8)');
  const [base, tuned, reloaded] = [...out['dev loss']!.matchAll(/\d+\.\d+/g)].map((m) => Number(m[0]));
  assert.ok(tuned! < base!, `fine-tuning lowers the dev loss: ${out['dev loss']}`);
  assert.equal(reloaded, tuned, 'the exported adapter gives the trained model back');
  const config = JSON.parse(fs.readFileSync(path.join(out['PEFT adapter']!, 'adapter_config.json'), 'utf8'));
  assert.equal(config.r, 16, 'two links of rank 8 stacked into one LoRA');
  assert.ok(fs.existsSync(path.join(out['merged model']!, 'model.safetensors')));
  assert.match(out['generated']!, /^".*"$/);
});

test('the example adapts a model folder given on the command line', () => {
  const dir = makeTmpDir('example');
  const model = writeTinyModelFolder(path.join(dir, 'given'), { seed: 9, layers: 1 });
  const out = runExample([model]);
  assert.equal(out['model'], model);
  // the merged folder is the given architecture
  const merged = JSON.parse(fs.readFileSync(path.join(out['merged model']!, 'config.json'), 'utf8'));
  assert.equal(merged.num_hidden_layers, 1);
});
