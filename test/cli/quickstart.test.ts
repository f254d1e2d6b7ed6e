// scripts/quickstart.sh on a machine without ../shared: the built-in tiny model and
// synthetic task, LoRA vs COLA, the comparison table and the reports. About 30-40 s with
// the native backend; on the reference backend it takes minutes, so it is skipped there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadNativeBackend } from '../../src/backend/native/index.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { repoRoot } from './harness.js';

const script = path.join(repoRoot, 'scripts/quickstart.sh');
const quickstart = (args: string[], env: Record<string, string>, timeout = 180_000) =>
  spawnSync('bash', [script, ...args], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, ...env }, timeout });

const skipSlow = loadNativeBackend() ? false : 'the native addon is not built: the quickstart takes minutes on the reference backend';

test(
  'without the shared folder the quickstart builds a tiny model and task, compares LoRA with COLA and writes reports',
  { skip: skipSlow },
  () => {
    const out = makeTmpDir('quickstart');
    const r = quickstart([], { COLA_SHARED: path.join(out, 'no-shared'), OUT: out, COLA_BACKEND: '' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /using the BUILT-IN TINY MODEL and SYNTHETIC TEXT instead/);
    assert.match(r.stdout, /held-out synthetic verse \(\d+ bytes\), built-in tiny model/);
    const loss = (row: string) => Number(new RegExp(`^${row}\\s+(\\d+\\.\\d+)\\s+\\d+\\.\\d+$`, 'm').exec(r.stdout)?.[1]);
    const [base, lora, cola] = [loss('base model'), loss('LoRA'), loss('COLA \\(3 links\\)')];
    assert.ok([base, lora, cola].every(Number.isFinite), r.stdout);
    assert.ok(lora < base && cola < base, `adapting to the verse lowers its held-out loss: ${r.stdout}`);
    for (const run of ['lora', 'cola']) assert.ok(fs.existsSync(path.join(out, run, 'report.html')), run);
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'cola/chain.json'), 'utf8')).links.length, 3);
  },
);

test('quickstart arguments: --help, a --model that is not a model folder, an unknown flag', () => {
  const help = quickstart(['--help'], {});
  assert.equal(help.status, 0);
  assert.match(help.stdout, /usage: bash scripts\/quickstart.sh \[--model DIR\]/);
  const bad = quickstart(['--model', '/nonexistent/model'], {});
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--model \/nonexistent\/model: no config.json there; give a Hugging Face model folder/);
  const unknown = quickstart(['--fast'], {});
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown argument "--fast"/);
});
