// `cola studio` (issue 20): refuses bad inputs with a clear message, serves only the page,
// the model folder's files and the data file, every response cross-origin isolated.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { startStudio } from '../../src/cli/studioServer.js';
import { tinyCorpus, tinyModelFolder } from '../helpers/tinyFolder.js';
import { colaBin } from '../helpers/trainRuns.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-studio-cli-'));
const model = tinyModelFolder(5);
const data = tinyCorpus(work, 10);

function studio(args: string[]): { status: number | null; stderr: string } {
  return spawnSync(process.execPath, [colaBin, 'studio', ...args], { encoding: 'utf8', timeout: 30_000 });
}

test('cola studio refuses a missing or non-model folder and a missing data file, naming it', () => {
  let r = studio(['--model', path.join(work, 'nope')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--model .*nope: folder not found/);
  r = studio(['--model', work]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no config\.json; expected a Hugging Face model folder/);
  r = studio(['--model', model, '--data', path.join(work, 'missing.txt')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--data .*missing\.txt: file not found/);
  r = studio([]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--model DIR is required/);
  r = studio(['--help']);
  assert.equal(r.status, 0);
});

test('the studio server lists and serves the model, the data and the page, cross-origin isolated, nothing else', async () => {
  const web = fs.mkdtempSync(path.join(work, 'web-'));
  fs.writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>page</title>');
  fs.writeFileSync(path.join(work, 'secret.txt'), 'not served');
  const { server, url, info } = await startStudio({ modelDir: model, dataFile: data, webDir: web }, 0);
  try {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const get = (p: string) => fetch(new URL(p, url));
    const page = await get('/');
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.match(await page.text(), /<title>page<\/title>/);
    const listed = (await (await get('/studio.json')).json()) as typeof info;
    assert.deepEqual(listed, info);
    assert.deepEqual(listed.model.files, fs.readdirSync(model).sort());
    assert.equal(listed.data?.name, 'corpus.txt');
    const config = await get('/model/config.json');
    assert.equal(await config.text(), fs.readFileSync(path.join(model, 'config.json'), 'utf8'));
    assert.equal(config.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.equal(await (await get('/data/corpus.txt')).text(), fs.readFileSync(data, 'utf8'));
    for (const bad of ['/model/..%2F..%2Fsecret.txt', '/data/secret.txt', '/model/', '/secret.txt', '/model/a/b', '/%E0%A4%A']) {
      const r = await get(bad);
      assert.ok(r.status === 404 || r.status === 400, `${bad}: ${r.status}`);
      assert.doesNotMatch(await r.text(), /not served/);
    }
  } finally {
    server.close();
  }
});

test.after(() => fs.rmSync(work, { recursive: true, force: true }));
