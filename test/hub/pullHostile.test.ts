// cola pull against a server that sends more than it announced: the download stops at
// the listed size with a clear error instead of reading (and writing) the whole body.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeTinyModelFolder } from '../../src/api/tinyModel.js';
import { ColaError } from '../../src/errors.js';
import { pullModel } from '../../src/hub/pull.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { startFakeHub } from './fakeHub.js';

const tmp = makeTmpDir('hub-hostile');
const plain = writeTinyModelFolder(path.join(tmp, 'repos/plain'), { seed: 3 });
const BODY = 131 << 20;
const hub = await startFakeHub({ 'org/liar': { dir: plain, oversize: { 'config.json': BODY } } });
after(() => hub.close());

test('a 131 MB body for a file listed as a few hundred bytes stops at the listed size', async () => {
  const listed = fs.statSync(path.join(plain, 'config.json')).size;
  const out = path.join(tmp, 'out/liar');
  const t0 = Date.now();
  await assert.rejects(
    pullModel('org/liar', { endpoint: hub.endpoint, outDir: out }),
    (e: unknown) =>
      e instanceof ColaError &&
      e.message.includes('config.json') &&
      e.message.includes(`larger than the ${listed} bytes the Hub announced`),
  );
  assert.ok(Date.now() - t0 < 5000);
  await new Promise((r) => setTimeout(r, 50)); // let the server see the connection close
  assert.ok(hub.sent['config.json']! < 16 << 20, `server sent ${hub.sent['config.json']} bytes before cola stopped`);
  const left = fs.existsSync(out) ? fs.readdirSync(out) : [];
  assert.ok(!left.includes('config.json') && !left.some((f) => f.includes('.part')), left.join(', '));
});
