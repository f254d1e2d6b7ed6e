// The browser implementations of the Node built-ins the library uses (src/web/platform/,
// what the browser bundle maps node:fs, node:path, node:crypto to) against Node's own.
import assert from 'node:assert/strict';
import { createHash as nodeHash } from 'node:crypto';
import * as nodePath from 'node:path';
import { test } from 'node:test';
import { Buffer as WebBuffer } from '../../src/web/platform/buffer.js';
import { createHash } from '../../src/web/platform/crypto.js';
import * as mfs from '../../src/web/platform/fs.js';
import * as wpath from '../../src/web/platform/path.js';

test('sha256 equals node:crypto on empty, short, block-edge and long inputs, fed in pieces', () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 1000, 100_003]) {
    const bytes = new Uint8Array(n).map((_, i) => (i * 31 + 7) & 255);
    const h = createHash('sha256');
    h.update(bytes.subarray(0, n >> 1));
    h.update(bytes.subarray(n >> 1));
    assert.equal(h.digest('hex'), nodeHash('sha256').update(bytes).digest('hex'), `${n} bytes`);
  }
  assert.equal(createHash('sha256').update('héllo').digest('hex'), nodeHash('sha256').update('héllo').digest('hex'));
});

test('path functions equal node:path.posix', () => {
  const cases = ['/a/b/c.json', 'a/b/', '/a/./b/../c', 'x', '/', '', '../a/b', '/run/adapter/', 'file.tar.gz', '.hidden'];
  for (const p of cases) {
    assert.equal(wpath.dirname(p || '.'), nodePath.posix.dirname(p || '.'), `dirname ${p}`);
    assert.equal(wpath.basename(p), nodePath.posix.basename(p), `basename ${p}`);
    assert.equal(wpath.extname(p), nodePath.posix.extname(p), `extname ${p}`);
    assert.equal(wpath.normalize(p), nodePath.posix.normalize(p), `normalize ${p}`);
  }
  assert.equal(wpath.join('/run', 'adapter', 'x.json'), nodePath.posix.join('/run', 'adapter', 'x.json'));
  assert.equal(wpath.join('/run/', '../model', './config.json'), nodePath.posix.join('/run/', '../model', './config.json'));
  assert.equal(wpath.resolve('/a', 'b', '../c'), '/a/c');
  assert.equal(wpath.relative('/a/b', '/a/c/d'), nodePath.posix.relative('/a/b', '/a/c/d'));
});

test('memory fs: files, folders, fds, rename and errors as the library relies on them', () => {
  const root = `/t${Date.now()}`;
  assert.equal(mfs.existsSync(root), false);
  assert.throws(() => mfs.readFileSync(`${root}/x`), { code: 'ENOENT' });
  assert.throws(() => mfs.writeFileSync(`${root}/x`, 'a'), { code: 'ENOENT' }, 'no implicit folders');
  mfs.mkdirSync(`${root}/a/b`, { recursive: true });
  assert.throws(() => mfs.mkdirSync(`${root}/a`), { code: 'EEXIST' });
  mfs.writeFileSync(`${root}/a/b/f.txt`, 'hello');
  assert.equal(mfs.readFileSync(`${root}/a/b/f.txt`, 'utf8'), 'hello');
  assert.deepEqual(mfs.readdirSync(`${root}/a`), ['b']);
  assert.equal(mfs.statSync(`${root}/a/b/f.txt`)!.size, 5);
  assert.equal(mfs.statSync(`${root}/nope`, { throwIfNoEntry: false }), undefined);
  // O_EXCL, append, positioned reads, truncate
  assert.throws(() => mfs.openSync(`${root}/a/b/f.txt`, 'wx'), { code: 'EEXIST' });
  const c = mfs.constants;
  let fd = mfs.openSync(`${root}/a/b/f.txt`, c.O_WRONLY | c.O_APPEND | c.O_CREAT);
  mfs.writeSync(fd, ' world');
  mfs.closeSync(fd);
  assert.equal(mfs.readFileSync(`${root}/a/b/f.txt`, 'utf8'), 'hello world');
  fd = mfs.openSync(`${root}/a/b/f.txt`, 'r');
  const into = new Uint8Array(5);
  assert.equal(mfs.readSync(fd, into, 0, 5, 6), 5);
  assert.equal(new TextDecoder().decode(into), 'world');
  assert.equal(mfs.readSync(fd, into, 0, 5, 100), 0, 'past the end');
  mfs.closeSync(fd);
  assert.throws(() => mfs.closeSync(fd), { code: 'EBADF' });
  fd = mfs.openSync(`${root}/a/b/f.txt`, c.O_WRONLY);
  mfs.ftruncateSync(fd, 5);
  mfs.closeSync(fd);
  assert.equal(mfs.readFileSync(`${root}/a/b/f.txt`, 'utf8'), 'hello');
  // a read returns a copy: writing to it does not change the file
  const bytes = mfs.readFileSync(`${root}/a/b/f.txt`) as Uint8Array;
  bytes[0] = 0;
  assert.equal(mfs.readFileSync(`${root}/a/b/f.txt`, 'utf8'), 'hello');
  // rename of a folder moves its files (the checkpoint's tmp -> final swap)
  mfs.renameSync(`${root}/a`, `${root}/z`);
  assert.equal(mfs.existsSync(`${root}/a/b/f.txt`), false);
  assert.equal(mfs.readFileSync(`${root}/z/b/f.txt`, 'utf8'), 'hello');
  assert.throws(() => mfs.rmSync(`${root}/z`), { code: 'EISDIR' });
  mfs.rmSync(`${root}/z`, { recursive: true });
  mfs.rmSync(`${root}/z`, { recursive: true, force: true });
  assert.deepEqual(mfs.readdirSync(root), []);
  mfs.putFile(`${root}/m/config.json`, new TextEncoder().encode('{}'));
  assert.deepEqual(mfs.listFiles(root), [`${root}/m/config.json`]);
});

test('Buffer: utf8, concat, little-endian reads, as Node', () => {
  const b = WebBuffer.from('héllo');
  assert.deepEqual([...b], [...Buffer.from('héllo')]);
  assert.equal(b.toString('utf8'), 'héllo');
  assert.equal(WebBuffer.byteLength('héllo'), Buffer.byteLength('héllo'));
  assert.equal(WebBuffer.concat([WebBuffer.from('ab'), WebBuffer.from('cd')], 3).toString(), 'abc');
  const n = WebBuffer.alloc(12);
  n.writeBigUInt64LE(123456789012n, 0);
  n.writeUInt32LE(0xdeadbeef, 8);
  assert.equal(Buffer.from(n).readBigUInt64LE(0), 123456789012n);
  assert.equal(n.readUInt32LE(8), 0xdeadbeef);
  assert.equal(n.readInt32LE(8), Buffer.from(n).readInt32LE(8));
  assert.ok(n.subarray(0, 4) instanceof WebBuffer, 'subarray keeps the class (jsonl.ts reads chunks)');
});
