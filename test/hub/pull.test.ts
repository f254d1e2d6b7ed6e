// cola pull against a local fake Hub (fakeHub.ts): what is downloaded, what is skipped,
// that the folder loads, and every failure as one clear message.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { writeTinyModelFolder } from '../../src/api/tinyModel.js';
import { referenceBackend } from '../../src/backend/reference/index.js';
import { ColaError } from '../../src/errors.js';
import { pullModel } from '../../src/hub/pull.js';
import { loadModel } from '../../src/models/load.js';
import { saveModelFolder } from '../../src/models/save.js';
import { repoRoot } from '../cli/harness.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { SHA, startFakeHub } from './fakeHub.js';

const tmp = makeTmpDir('hub');
const plain = writeTinyModelFolder(path.join(tmp, 'repos/plain'), { seed: 3 });
// Files a model repo often has beside the safetensors, none of which cola needs.
fs.writeFileSync(path.join(plain, 'pytorch_model.bin'), 'torch weights');
fs.writeFileSync(path.join(plain, 'flax_model.msgpack'), 'flax weights');
fs.writeFileSync(path.join(plain, 'README.md'), '# tiny');
const sharded = shardedCopy(plain, path.join(tmp, 'repos/sharded'));
const binOnly = path.join(tmp, 'repos/bin-only');
fs.mkdirSync(binOnly);
fs.copyFileSync(path.join(plain, 'config.json'), path.join(binOnly, 'config.json'));
fs.writeFileSync(path.join(binOnly, 'pytorch_model.bin'), 'torch weights');

const hub = await startFakeHub({
  'org/tiny': { dir: plain },
  'org/sharded': { dir: sharded },
  'org/bin-only': { dir: binOnly },
  'org/gated': { dir: plain, token: 'hf_secret' },
  'org/flaky': { dir: plain, truncate: ['model.safetensors'] },
  'org/nosizes': { dir: plain, noSizes: true },
});
after(() => hub.close());

/** The model folder split into shards with an index, as large Hub models are. */
function shardedCopy(src: string, dir: string): string {
  const model = loadModel(src, { backend: referenceBackend });
  saveModelFolder(model, dir, { maxShardBytes: 40_000 });
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json'])
    fs.copyFileSync(path.join(src, f), path.join(dir, f));
  return dir;
}

/** A port that was free a moment ago and has nothing listening now. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const pull = (repo: string, out: string, extra: Parameters<typeof pullModel>[1] = {}) =>
  pullModel(repo, { endpoint: hub.endpoint, outDir: out, ...extra });

/** The CLI in a child process, asynchronously (the fake Hub runs in this process). */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/cola.js'), ...args], {
      cwd: tmp,
      env: { ...process.env, COLA_BACKEND: 'reference', HF_ENDPOINT: hub.endpoint, HF_TOKEN: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('cola pull downloads config, tokenizer and safetensors only, and the folder loads with cola info', async () => {
  const out = path.join(tmp, 'out/plain');
  const r = await cli(['pull', 'org/tiny', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), out);
  assert.deepEqual(fs.readdirSync(out).sort(), [
    'config.json',
    'generation_config.json',
    'model.safetensors',
    'tokenizer.json',
    'tokenizer_config.json',
  ]);
  for (const f of fs.readdirSync(out)) assert.deepEqual(fs.readFileSync(path.join(out, f)), fs.readFileSync(path.join(plain, f)), f);
  assert.match(r.stderr, /4 downloaded|5 downloaded/);
  const info = await cli(['info', '--model', out, '--json']);
  assert.equal(info.status, 0, info.stderr);
  assert.equal(JSON.parse(info.stdout).model_type, 'llama');
  // Sizes come with the listing; every file is fetched from the listed commit, not the moving branch.
  const requests = hub.log.filter((l) => l.includes('org/tiny'));
  assert.ok(requests.some((l) => l.startsWith('GET /api/models/org/tiny/revision/main?blobs=true')));
  const resolves = requests.filter((l) => l.includes('/resolve/'));
  assert.equal(resolves.length, 5);
  assert.ok(resolves.every((l) => l.includes(`/resolve/${SHA}/`)));
  assert.ok(resolves.at(-1)!.includes('config.json'), 'config.json comes last: a folder with a config is complete');
});

test('a second pull downloads nothing; a file of the wrong size is fetched again', async () => {
  const out = path.join(tmp, 'out/again');
  await pull('org/tiny', out);
  const first = hub.log.length;
  const again = await pull('org/tiny', out);
  assert.deepEqual(again.downloaded, []);
  assert.equal(again.skipped.length, 5);
  assert.ok(!hub.log.slice(first).some((l) => l.includes('/resolve/')));
  fs.writeFileSync(path.join(out, 'tokenizer.json'), '{}');
  const fixed = await pull('org/tiny', out);
  assert.deepEqual(fixed.downloaded, ['tokenizer.json']);
  assert.deepEqual(fs.readFileSync(path.join(out, 'tokenizer.json')), fs.readFileSync(path.join(plain, 'tokenizer.json')));
});

test('without sizes in the listing, Content-Length decides what is already there', async () => {
  const out = path.join(tmp, 'out/nosizes');
  assert.equal((await pull('org/nosizes', out)).downloaded.length, 5);
  const before = fs.statSync(path.join(out, 'model.safetensors')).mtimeMs;
  const again = await pull('org/nosizes', out);
  assert.deepEqual(again.downloaded, []);
  assert.equal(fs.statSync(path.join(out, 'model.safetensors')).mtimeMs, before, 'not rewritten');
});

test('a sharded repo gives the index and exactly the shards it names, and loads', async () => {
  const out = path.join(tmp, 'out/sharded');
  const r = await pull('org/sharded', out);
  const shards = fs.readdirSync(sharded).filter((f) => f.endsWith('.safetensors'));
  assert.ok(shards.length > 1, 'the fixture is sharded');
  assert.deepEqual(r.downloaded.slice(0, shards.length + 1).sort(), ['model.safetensors.index.json', ...shards].sort());
  const a = loadModel(out, { backend: referenceBackend });
  const b = loadModel(plain, { backend: referenceBackend });
  assert.deepEqual(
    a.exportTensors().map(([n, t]) => [n, [...t.shape]]),
    b.exportTensors().map(([n, t]) => [n, [...t.shape]]),
  );
});

test('a gated repo needs HF_TOKEN, sent as a Bearer token', async () => {
  const out = path.join(tmp, 'out/gated');
  await assert.rejects(pull('org/gated', out), /model org\/gated not found \(check the name, or set HF_TOKEN for gated models\)/);
  const r = await cli(['pull', 'org/gated', '--out', out, '--quiet'], { HF_TOKEN: 'hf_secret' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(hub.log.some((l) => l.includes('/api/models/org/gated/') && l.endsWith('Bearer hf_secret')));
  assert.ok(fs.existsSync(path.join(out, 'model.safetensors')));
});

test('a dropped connection leaves no half-written file, and says to run again', async () => {
  const out = path.join(tmp, 'out/flaky');
  await assert.rejects(
    pull('org/flaky', out),
    (e: Error) => e instanceof ColaError && /model\.safetensors/.test(e.message) && /again/.test(e.message),
  );
  assert.deepEqual(fs.existsSync(out) ? fs.readdirSync(out) : [], []);
});

test('a repo without safetensors weights is refused before any download', async () => {
  const out = path.join(tmp, 'out/bin');
  await assert.rejects(
    pull('org/bin-only', out),
    /has no model\.safetensors or model\.safetensors\.index\.json \(it has pytorch_model\.bin\).*safetensors weights only/,
  );
  assert.ok(!fs.existsSync(path.join(out, 'config.json')));
});

test('CLI errors: one line with the fix, exit 1, no stack trace', async () => {
  const dead = await closedPort();
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['pull', 'org/missing'], {}, /model org\/missing not found \(check the name, or set HF_TOKEN for gated models\)/],
    [['pull', 'org/tiny', '--revision', 'v9'], {}, /revision "v9" of org\/tiny not found/],
    [['pull', 'not-a-repo-id'], {}, /"not-a-repo-id" is not a Hugging Face model id; expected ORG\/NAME/],
    [['pull'], {}, /say which model \(usage: cola pull ORG\/NAME/],
    // A port nothing listens on stands for a machine without network.
    [
      ['pull', 'org/tiny'],
      { HF_ENDPOINT: `http://127.0.0.1:${dead}` },
      /cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\).*--model DIR with a local Hugging Face folder/,
    ],
  ];
  for (const [args, env, message] of cases) {
    const r = await cli(args, env);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('cola pull --help names the flags and the environment variables', async () => {
  const r = await cli(['pull', '--help']);
  assert.equal(r.status, 0);
  for (const s of ['ORG/NAME', '--revision', '--out', 'HF_TOKEN', 'HF_ENDPOINT', 'models/ORG/NAME']) assert.ok(r.stdout.includes(s), s);
});
