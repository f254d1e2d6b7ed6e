// A checkpoint that does not match its config fails with one ColaError that
// lists every problem: missing, unexpected and mis-shaped keys together.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { referenceBackend } from '../../src/backend/reference/index.js';
import { ColaError } from '../../src/errors.js';
import type { TensorToWrite } from '../../src/io/safetensorsWriter.js';
import { loadModel } from '../../src/models/load.js';
import { editedFixture } from './fixtures.js';

interface Breakage {
  fixture: string;
  drop: string;
  misShape: string;
}

const cases: Breakage[] = [
  { fixture: 'llama_tiny', drop: 'model.layers.1.mlp.up_proj.weight', misShape: 'model.layers.0.self_attn.k_proj.weight' },
  { fixture: 'opt_tiny', drop: 'model.decoder.layers.0.fc1.bias', misShape: 'model.decoder.project_in.weight' },
  // keys as stored (no `transformer.` prefix); a Conv1D weight is checked in its stored [in, out] layout
  { fixture: 'gpt2_tiny', drop: 'h.1.ln_2.bias', misShape: 'h.0.attn.c_attn.weight' },
];

function breakTensors(tensors: TensorToWrite[], c: Breakage): TensorToWrite[] {
  const kept = tensors.filter((t) => t.name !== c.drop);
  const bad = kept.find((t) => t.name === c.misShape)!;
  bad.shape = [bad.shape[0]! - 1, bad.shape[1]!]; // one row short
  bad.data = new Float32Array(bad.shape[0]! * bad.shape[1]!);
  return [...kept, { name: 'extra.weight', dtype: 'F32', shape: [2], data: new Float32Array(2) }];
}

for (const c of cases) {
  test(`${c.fixture}: missing + unexpected + mis-shaped keys in one ColaError`, () => {
    const dir = editedFixture(c.fixture, (tensors) => breakTensors(tensors, c));
    assert.throws(
      () => loadModel(dir, { backend: referenceBackend }),
      (e: unknown) => {
        assert.ok(e instanceof ColaError, String(e));
        for (const part of ['missing keys (1)', c.drop, 'unexpected keys (1)', 'extra.weight', 'mis-shaped keys (1)', c.misShape]) {
          assert.ok(e.message.includes(part), `message lacks "${part}":\n${e.message}`);
        }
        return true;
      },
    );
  });
}
