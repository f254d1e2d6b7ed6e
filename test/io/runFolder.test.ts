// The run-folder rules (src/io/runFolder.ts) and the fs-error mapping (src/io/fileIo.ts)
// as a table of folders and their verdicts; test/cli/runFolder.test.ts runs them end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../../src/errors.js';
import { asUserFsError, writeTextAtomic } from '../../src/io/fileIo.js';
import { folderKind, lockRunFolder, openRunFolder, removeStaleTempFiles, type FolderKind } from '../../src/io/runFolder.js';
import { MetricsLog } from '../../src/train/metricsLog.js';
import { makeTmpDir } from './tmpdir.js';

const dir = makeTmpDir('runfolder');
const p = (...parts: string[]) => path.join(dir, ...parts);
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

function folder(name: string, files: Record<string, string>): string {
  fs.mkdirSync(p(name));
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(p(name, f), text);
  return p(name);
}

const kinds: Array<[string, string, FolderKind]> = [
  ['missing', p('nope'), 'missing'],
  ['a file', folder('f', { x: '' }) + '/x', 'file'],
  ['empty', folder('e', {}), 'empty'],
  ['a model', folder('m', { 'config.json': '{"model_type":"llama"}', 'model.safetensors': '' }), 'model'],
  ['a sharded model', folder('s', { 'model-00001-of-00002.safetensors': '' }), 'model'],
  ['an adapter', folder('a', { 'adapter_config.json': '{}' }), 'model'],
  ['a run', folder('r', { 'config.json': '{"run":{}}', 'metrics.jsonl': '' }), 'run'],
  ['a run before config.json', folder('r2', { 'metrics.jsonl': '' }), 'run'],
  ['a config.json of something else', folder('o', { 'config.json': '{"model_type":"llama"}' }), 'other'],
  ['an experiment', folder('x', { 'experiment.json': '{}', 'results.md': '' }), 'experiment'],
  ['an experiment cell before its run', folder('c', { 'cell.json': '{}' }), 'other'],
];
for (const [what, d, kind] of kinds) test(`folderKind: ${what}`, () => assert.equal(folderKind(d), kind));

test('openRunFolder refuses models, files and foreign config.json, and a run with a checkpoint unless resuming', () => {
  assert.throws(() => openRunFolder(p('m'), false), /holds a model/);
  assert.throws(() => openRunFolder(p('f', 'x'), false), /is a file/);
  assert.throws(() => openRunFolder(p('o'), false), /config\.json that is not a cola run's/);
  assert.throws(() => openRunFolder(p('x'), false), /holds a cola experiment \(experiment\.json, results\.md\)/);
  fs.mkdirSync(p('r', 'checkpoint'));
  assert.throws(() => openRunFolder(p('r'), false), /already holds a run; pass --resume/);
  const f = openRunFolder(p('r'), true);
  f.release();
});

test('the lock: held by a live pid refuses (this process too), a dead pid is taken over, release removes it', () => {
  const d = folder('lock', {});
  const release = lockRunFolder(d);
  assert.equal(fs.readFileSync(path.join(d, 'cola.lock'), 'utf8').trim(), String(process.pid));
  assert.throws(() => lockRunFolder(d), new RegExp(`in use by cola process ${process.pid} \\(this one\\)`));
  release();
  assert.ok(!fs.existsSync(path.join(d, 'cola.lock')));
  fs.writeFileSync(path.join(d, 'cola.lock'), `${deadPid()}\n`);
  lockRunFolder(d)();
  assert.ok(!fs.existsSync(path.join(d, 'cola.lock')));
});

test('a symlink anywhere in the run folder is refused, naming it; the link target is untouched', () => {
  const d = folder('linked', { 'config.json': '{"run":{}}' });
  fs.mkdirSync(path.join(d, 'best', 'adapter'), { recursive: true });
  fs.writeFileSync(p('target.txt'), 'keep');
  fs.symlinkSync(p('target.txt'), path.join(d, 'best', 'adapter', 'adapter_config.json'));
  assert.throws(() => openRunFolder(d, true), /best\/adapter\/adapter_config\.json: is a symbolic link inside the run folder/);
  assert.ok(!fs.existsSync(path.join(d, 'cola.lock')), 'a refused open releases its lock');
  // and the log never follows one even if it appears later (O_NOFOLLOW)
  fs.symlinkSync(p('target.txt'), path.join(d, 'metrics.jsonl'));
  const log = new MetricsLog(d);
  assert.throws(
    () => log.write({ event: 'step' }),
    (e) => e instanceof ColaError && /metrics\.jsonl: .*symbolic link/.test(e.message),
  );
  assert.throws(() => log.truncate(0), ColaError);
  assert.equal(fs.readFileSync(p('target.txt'), 'utf8'), 'keep');
});

test('temp files of dead processes are removed, those of live ones kept', () => {
  const d = folder('tmps', {});
  fs.mkdirSync(path.join(d, 'adapter'));
  const dead = path.join(d, 'adapter', `.adapter_model.safetensors.${deadPid()}.1700000000000.tmp`);
  const live = path.join(d, `.config.json.${process.pid}.1700000000000.tmp`);
  const copy = path.join(d, `tokenizer.json.tmp-${deadPid()}`);
  for (const f of [dead, live, copy]) fs.writeFileSync(f, '');
  assert.deepEqual(removeStaleTempFiles(d).sort(), [dead, copy].sort());
  assert.ok(fs.existsSync(live));
});

test('asUserFsError: ENOSPC, EDQUOT, EACCES, EROFS become one ColaError naming the file; other errors pass through', () => {
  for (const code of ['ENOSPC', 'EDQUOT', 'EACCES', 'EROFS']) {
    const e = asUserFsError(Object.assign(new Error(`${code}: x`), { code, syscall: 'write' }), '/runs/a/adapter_model.safetensors');
    assert.ok(e instanceof ColaError, code);
    assert.match(e.message, new RegExp(`^/runs/a/adapter_model\\.safetensors: cannot write: .*\\(${code}\\).*last checkpoint`));
  }
  const bug = new TypeError('x is undefined');
  assert.equal(asUserFsError(bug), bug);
  const other = Object.assign(new Error('EIO'), { code: 'EIO' });
  assert.equal(asUserFsError(other), other);
  // fs's own path is used when the caller names none
  const fromFs = asUserFsError(Object.assign(new Error('EROFS'), { code: 'EROFS', syscall: 'open', path: '/ro/x' }));
  assert.match((fromFs as Error).message, /^\/ro\/x: cannot open: the file system is read-only/);
});

test('writeTextAtomic never follows a symlink at the target: the link is replaced, its target kept', () => {
  fs.writeFileSync(p('outside.json'), 'outside');
  fs.symlinkSync(p('outside.json'), p('config-link.json'));
  writeTextAtomic(p('config-link.json'), 'inside');
  assert.equal(fs.readFileSync(p('outside.json'), 'utf8'), 'outside');
  assert.equal(fs.readFileSync(p('config-link.json'), 'utf8'), 'inside');
  assert.ok(!fs.lstatSync(p('config-link.json')).isSymbolicLink());
});
