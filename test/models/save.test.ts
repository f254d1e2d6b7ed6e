// saveModelFolder writes what the loader (and transformers) read: for every family
// the written file holds exactly the fixture's tensors, in the file's own layout
// (GPT-2's Conv1D [in, out] included), and the reloaded model gives the same logits.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { referenceBackend } from '../../src/backend/reference/index.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { loadModel } from '../../src/models/load.js';
import { saveModelFolder } from '../../src/models/save.js';
import { noGrad } from '../../src/tensor/autograd.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { fixtureNames, fixturesDir, fixtureTensors, idsTensor, readExpected } from './fixtures.js';

const backend = referenceBackend;
const tmp = makeTmpDir('save');
/** buffers and prefixes the loader normalises away */
const canonical = (name: string): string => name.replace(/^(transformer|model)\./, '');
const BUFFER = /\.attn\.(masked_)?bias$/;

for (const name of fixtureNames()) {
  test(`${name}: save -> file tensors equal the fixture's, reload gives the same logits`, () => {
    const src = path.join(fixturesDir, name);
    const model = loadModel(src, { backend });
    const out = path.join(tmp, name);
    saveModelFolder(model, out);

    const written = openSafetensors(path.join(out, 'model.safetensors'));
    const want = new Map(
      fixtureTensors(name)
        .filter((t) => !BUFFER.test(t.name))
        .map((t) => [canonical(t.name), t]),
    );
    for (const [key, info] of written.tensors) {
      const ref = want.get(canonical(key));
      if (!ref) assert.fail(`${name}: unexpected tensor ${key}`);
      assert.deepEqual([...info.shape], ref.shape, `${name}: ${key} shape`);
      assert.deepEqual(written.read(key, 'f32'), ref.data, `${name}: ${key} values`);
      want.delete(canonical(key));
    }
    // a tied head is the embedding: the file need not hold it twice
    assert.deepEqual(
      [...want.keys()].filter((k) => k !== 'lm_head.weight'),
      [],
      `${name}: tensors not written`,
    );

    const { input_ids } = readExpected(name);
    const logits = (dir: string): Float32Array => noGrad(() => loadModel(dir, { backend }).logits(idsTensor(backend, input_ids))).f32;
    assert.deepEqual(logits(out), logits(src));
  });
}
