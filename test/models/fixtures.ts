// The tiny model folders of test/fixtures/models/ (written by
// scripts/make_parity_fixtures.py) and the backends the model tests run on.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../../src/backend/backend.js';
import { getBackend } from '../../src/backend/index.js';
import { referenceBackend } from '../../src/backend/reference/index.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { writeSafetensors, type TensorToWrite } from '../../src/io/safetensorsWriter.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { makeTmpDir } from '../io/tmpdir.js';

/** dist/test/models/*.js -> repository root. */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const fixturesDir = path.join(repoRoot, 'test/fixtures/models');

export interface Expected {
  note: string;
  input_ids: number[][];
  logits_shape: number[];
  logits: number[];
}

export function fixtureNames(): string[] {
  return readdirSync(fixturesDir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

export function readExpected(name: string): Expected {
  return JSON.parse(readFileSync(path.join(fixturesDir, name, 'expected.json'), 'utf8')) as Expected;
}

/** Input ids [B, T] as an i32 tensor. */
export function idsTensor(backend: Backend, ids: number[][]): Tensor {
  return tensor(backend, ids.flat(), [ids.length, ids[0]!.length], 'i32');
}

/** The reference backend, plus the native one when its addon is built. */
export function backendsUnderTest(): Backend[] {
  try {
    return [referenceBackend, getBackend('native')];
  } catch {
    return [referenceBackend]; // the addon is not built: getBackend says why elsewhere
  }
}

/** The tensors of a fixture's model.safetensors (all F32), in file order. */
export function fixtureTensors(name: string): TensorToWrite[] {
  const file = openSafetensors(path.join(fixturesDir, name));
  return [...file.tensors.entries()].map(([key, info]) => ({
    name: key,
    dtype: 'F32',
    shape: [...info.shape],
    data: file.read(key, 'f32'),
  }));
}

export function fixtureConfig(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(fixturesDir, name, 'config.json'), 'utf8')) as Record<string, unknown>;
}

/** A temporary copy of a fixture folder whose tensors `edit` rewrote (and whose
 * config.json got `configChanges`). */
export function editedFixture(
  name: string,
  edit: (tensors: TensorToWrite[]) => TensorToWrite[],
  configChanges: Record<string, unknown> = {},
): string {
  const dir = makeTmpDir(`fixture-${name}`);
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...fixtureConfig(name), ...configChanges }));
  writeSafetensors(path.join(dir, 'model.safetensors'), edit(fixtureTensors(name)));
  return dir;
}
