// Run folders through the real CLI (docs/ROBUSTNESS.md): cola never writes over a model or
// another command's output, one process holds a run folder at a time, no write goes
// through a symlink, a full disk is a user error that leaves the last checkpoint whole,
// and a failed or killed start leaves nothing behind that a later run trips over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTmpDir } from '../io/tmpdir.js';
import { sparseSafetensors } from '../io/sparseSafetensors.js';
import { waitForSteps } from '../helpers/trainRuns.js';
import { cola, repoRoot, tinyModelDir, writeCorpus, writeTinyLlama2c } from './harness.js';

const dir = makeTmpDir('cli-runfolder');
const p = (...parts: string[]) => path.join(dir, ...parts);
const model = tinyModelDir(dir);
const corpus = writeCorpus(p('corpus.txt'));
const train = (out: string, ...extra: string[]) => [
  'train',
  '--model',
  model,
  '--data',
  corpus,
  '--max-steps',
  '4',
  '--max-length',
  '16',
  '--out',
  out,
  '--quiet',
  ...extra,
];
const preload = path.join(repoRoot, 'dist/test/cli/enospcPreload.js');
/** A cola process whose writes to files named like `needle` fail with ENOSPC. */
const diskFull = (needle: string) => ({ COLA_TEST_ENOSPC: needle, NODE_OPTIONS: `--import ${preload}` });
const read = (f: string) => fs.readFileSync(f, 'utf8');
/** A pid that is certainly dead: a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

function finishedRun(name: string): string {
  const out = p(name);
  const r = cola(train(out));
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!fs.existsSync(path.join(out, 'cola.lock')), 'the lock is released at the end');
  return out;
}

function assertUserError(r: ReturnType<typeof cola>, pattern: RegExp): void {
  assert.equal(r.status, 1, `exit ${r.status}:\n${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /internal error|^\s+at /m);
}

test('train --out MODEL_DIR is refused and the model config.json is unchanged', () => {
  const before = read(path.join(model, 'config.json'));
  assertUserError(cola(train(model)), /--out .*model-60: the folder holds a model.*config\.json.*model\.safetensors/);
  assert.equal(read(path.join(model, 'config.json')), before);
  assertUserError(cola(train(corpus)), /--out .*corpus\.txt: is a file/);
});

test('convert and export merged into a run folder are refused; the run config.json is unchanged', () => {
  const run = finishedRun('run-target');
  const before = read(path.join(run, 'config.json'));
  const { modelBin, tokBin } = writeTinyLlama2c(dir, 61);
  assertUserError(cola(['convert', 'llama2c', modelBin, tokBin, run]), /OUT_DIR .*run-target: the folder holds a cola run/);
  const adapter = path.join(run, 'adapter');
  assertUserError(
    cola(['export', 'merged', '--model', model, '--adapter', adapter, '--out', run]),
    /--out .*run-target: the folder holds a cola run/,
  );
  // a merged model folder is not written over either
  const merged = p('merged');
  assert.equal(cola(['export', 'merged', '--model', model, '--adapter', adapter, '--out', merged]).status, 0);
  assertUserError(cola(['export', 'merged', '--model', model, '--adapter', adapter, '--out', merged]), /holds a model/);
  assertUserError(cola(['convert', 'llama2c', modelBin, tokBin, merged]), /holds a model/);
  assert.equal(read(path.join(run, 'config.json')), before);
});

test('a second cola train on the same --out is refused at once naming the pid; the lock goes with the first (Ctrl-C)', async () => {
  const out = p('locked');
  const args = [
    'train',
    '--model',
    model,
    '--data',
    corpus,
    '--method',
    'lora',
    '--epochs',
    '400',
    '--max-length',
    '16',
    '--save-every',
    '0',
  ];
  const env = { ...process.env, COLA_BACKEND: 'reference' };
  const first = spawn(process.execPath, [path.join(repoRoot, 'bin/cola.js'), ...args, '--out', out, '--quiet'], { env, stdio: 'ignore' });
  await waitForSteps(first, out, 2);
  assert.equal(read(path.join(out, 'cola.lock')).trim(), String(first.pid));
  const second = cola(train(out));
  assertUserError(second, new RegExp(`in use by cola process ${first.pid}`));
  const lines = read(path.join(out, 'metrics.jsonl')).trim().split('\n');
  assert.ok(
    lines.every((l) => JSON.parse(l).event === 'step'),
    'only the first process writes metrics.jsonl',
  );
  first.kill('SIGINT');
  assert.equal(await new Promise((resolve) => first.once('exit', resolve)), 130);
  assert.ok(!fs.existsSync(path.join(out, 'cola.lock')), 'released on Ctrl-C');
});

test('a stale lock (its pid is dead, as after kill -9) is taken over; a failing run releases its lock', () => {
  const run = finishedRun('stale-lock');
  fs.writeFileSync(path.join(run, 'cola.lock'), `${deadPid()}\n`);
  const r = cola(train(run, '--resume'));
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!fs.existsSync(path.join(run, 'cola.lock')));
  // a live pid that started after the lock was written is not the lock's writer (a reused pid)
  const reused = finishedRun('reused-pid');
  const other = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const lock = path.join(reused, 'cola.lock');
    fs.writeFileSync(lock, `${other.pid}\n`);
    const hourAgo = new Date(Date.now() - 3600_000);
    fs.utimesSync(lock, hourAgo, hourAgo);
    const taken = cola(train(reused, '--resume'));
    assert.equal(taken.status, 0, taken.stderr);
  } finally {
    other.kill();
  }
  const failing = cola(train(p('fails'), '--max-steps', '4'), diskFull('adapter_model'));
  assert.equal(failing.status, 1);
  assert.ok(!fs.existsSync(p('fails', 'cola.lock')), 'released on error');
});

test('--resume never writes through a symlink in the run folder (metrics.jsonl, adapter/)', () => {
  for (const name of ['metrics.jsonl', 'adapter']) {
    const run = finishedRun(`link-${name}`);
    const outside = p(`outside-${name}`);
    fs.renameSync(path.join(run, name), outside);
    fs.symlinkSync(outside, path.join(run, name));
    const before = spawnSync('ls', ['-lR', outside], { encoding: 'utf8' }).stdout + (name === 'metrics.jsonl' ? read(outside) : '');
    assertUserError(cola(train(run, '--resume')), new RegExp(`${name}: is a symbolic link inside the run folder`));
    const after = spawnSync('ls', ['-lR', outside], { encoding: 'utf8' }).stdout + (name === 'metrics.jsonl' ? read(outside) : '');
    assert.equal(after, before, `${outside} changed`);
  }
});

test('a full disk (ENOSPC) is a user error naming the file; the checkpoint survives and --resume finishes', () => {
  const out = p('full');
  const r = cola(train(out), diskFull('adapter_model'));
  assertUserError(r, /adapter_model\.safetensors: cannot write: the disk is full \(ENOSPC\).*last checkpoint/);
  assert.ok(fs.existsSync(path.join(out, 'checkpoint/state.json')));
  assert.deepEqual(fs.readdirSync(path.join(out, 'adapter')), [], 'no temp file is left');
  const resumed = cola(train(out, '--resume'));
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.ok(fs.existsSync(path.join(out, 'adapter/adapter_model.safetensors')));
  // a full disk at the first metrics line: no checkpoint yet, so nothing is left behind
  assertUserError(cola(train(p('full-early')), diskFull('metrics.jsonl')), /metrics\.jsonl: cannot write: the disk is full/);
  assert.ok(!fs.existsSync(p('full-early')));
});

test('leftovers: a dead process temp file is removed on --resume; a failed --resume or empty data writes nothing', () => {
  const run = finishedRun('leftover');
  const tmp = path.join(run, 'adapter', `.adapter_model.safetensors.${deadPid()}.${Date.now()}.tmp`);
  fs.writeFileSync(tmp, '');
  assert.equal(cola(train(run, '--resume')).status, 0);
  assert.ok(!fs.existsSync(tmp), 'the 0-byte temp file of the killed export is gone');
  assertUserError(cola(train(p('never'), '--resume')), /--resume given but the run folder has no checkpoint/);
  assert.ok(!fs.existsSync(p('never')));
  fs.mkdirSync(p('kept'));
  assertUserError(cola(train(p('kept'), '--resume')), /no checkpoint/);
  assert.deepEqual(fs.readdirSync(p('kept')), [], 'no config.json after a failed --resume');
  fs.writeFileSync(p('blank.txt'), '\n');
  assertUserError(cola([...train(p('kept')), '--data', p('blank.txt')]), /nothing to train/);
  assert.deepEqual(fs.readdirSync(p('kept')), []);
});

test('--max-memory: models that do not fit are refused before loading; a bad size is a user error', () => {
  assertUserError(cola(train(p('mm'), '--max-memory', '1K')), /needs .* more than the --max-memory limit \(1024 bytes\)/);
  assertUserError(cola(train(p('mm'), '--max-memory', 'lots')), /--max-memory: expected a size in bytes/);
  assertUserError(cola(['eval', '--model', model, '--data', corpus, '--max-memory', '2K']), /--max-memory limit/);
  assert.equal(cola(train(p('mm'), '--max-memory', '1G')).status, 0);
});

test('cola info describes a sparse 70B-shaped folder from its headers, in bounded memory', () => {
  const big = p('llama-70b');
  fs.mkdirSync(big);
  const config = JSON.parse(read(path.join(model, 'config.json'))) as Record<string, unknown>;
  const [H, I, L, V, KV] = [8192, 28672, 80, 32000, 1024];
  fs.writeFileSync(
    path.join(big, 'config.json'),
    JSON.stringify({
      ...config,
      hidden_size: H,
      intermediate_size: I,
      num_hidden_layers: L,
      num_attention_heads: 64,
      num_key_value_heads: 8,
      vocab_size: V,
    }),
  );
  const t: [string, 'BF16', number[]][] = [
    ['model.embed_tokens.weight', 'BF16', [V, H]],
    ['lm_head.weight', 'BF16', [V, H]],
    ['model.norm.weight', 'BF16', [H]],
  ];
  for (let i = 0; i < L; i++) {
    const b = `model.layers.${i}.`;
    t.push([`${b}self_attn.q_proj.weight`, 'BF16', [H, H]], [`${b}self_attn.k_proj.weight`, 'BF16', [KV, H]]);
    t.push([`${b}self_attn.v_proj.weight`, 'BF16', [KV, H]], [`${b}self_attn.o_proj.weight`, 'BF16', [H, H]]);
    t.push(
      [`${b}mlp.gate_proj.weight`, 'BF16', [I, H]],
      [`${b}mlp.up_proj.weight`, 'BF16', [I, H]],
      [`${b}mlp.down_proj.weight`, 'BF16', [H, I]],
    );
    t.push([`${b}input_layernorm.weight`, 'BF16', [H]], [`${b}post_attention_layernorm.weight`, 'BF16', [H]]);
  }
  sparseSafetensors(path.join(big, 'model.safetensors'), t);
  // GNU time reports the peak RSS; where it is missing the exit status alone shows that
  // nothing near the 128 GiB the header declares was allocated
  const time = fs.existsSync('/usr/bin/time') ? ['/usr/bin/time', '-f', 'maxrss_kb %M'] : [];
  const argv = [...time, process.execPath, path.join(repoRoot, 'bin/cola.js'), 'info', '--model', big, '--json', '--max-memory', '1G'];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...process.env, COLA_BACKEND: 'reference' } });
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(info['parameters'], 68_976_648_192);
  assert.equal(info['all_linear_count'], 7 * L);
  assert.deepEqual(info['lora_targets'], ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
  const rss = /maxrss_kb (\d+)/.exec(r.stderr)?.[1];
  if (time.length) assert.ok(Number(rss) < 512 * 1024, `cola info used ${rss} KB`);
});
