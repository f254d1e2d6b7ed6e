import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../errors.js';
import { asUserFsError, writeJsonAtomic } from '../io/fileIo.js';
import { openSafetensors } from '../io/safetensors.js';
import { writeSafetensors, type TensorToWrite } from '../io/safetensorsWriter.js';

/** A training checkpoint: a JSON state plus named f32 arrays. It holds only what
 * a resume needs (issue 4): the factors of the merged links (the merged weights
 * are rebuilt from them), the live adapter, the optimizer moments, the step. The
 * data order and every random draw are functions of the step and the seed. */
export interface Checkpoint {
  state: Record<string, unknown>;
  arrays: Map<string, Float32Array>;
}

const DIR = 'checkpoint';

/** Write atomically: build checkpoint.tmp/, then swap it in with renames, so a
 * kill at any point leaves either the old or the new checkpoint whole; a full disk
 * (ColaError) leaves the last one whole too. */
export function saveCheckpoint(runDir: string, ckpt: Checkpoint): void {
  try {
    swapIn(runDir, ckpt);
  } catch (e) {
    fs.rmSync(path.join(runDir, `${DIR}.tmp`), { recursive: true, force: true });
    throw asUserFsError(e, path.join(runDir, `${DIR}.tmp`));
  }
}

function swapIn(runDir: string, ckpt: Checkpoint): void {
  const final = path.join(runDir, DIR);
  const tmp = path.join(runDir, `${DIR}.tmp`);
  const old = path.join(runDir, `${DIR}.old`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const tensors: TensorToWrite[] = [...ckpt.arrays].map(([name, data]) => ({ name, dtype: 'F32', shape: [data.length], data }));
  writeSafetensors(path.join(tmp, 'tensors.safetensors'), tensors, { format: 'cola-checkpoint' });
  writeJsonAtomic(path.join(tmp, 'state.json'), ckpt.state);
  fsyncDir(tmp);
  fs.rmSync(old, { recursive: true, force: true });
  if (fs.existsSync(final)) fs.renameSync(final, old);
  fs.renameSync(tmp, final);
  fs.rmSync(old, { recursive: true, force: true });
}

/** Whether the run folder has a checkpoint to resume from (without reading it). */
export function hasCheckpoint(runDir: string): boolean {
  return [DIR, `${DIR}.old`].some((name) => fs.existsSync(path.join(runDir, name, 'state.json')));
}

/** The JSON state of the newest checkpoint without its arrays (a resume check reads the
 * step and the merged links before loading any tensor), or null when there is none. */
export function readCheckpointState(runDir: string): { state: Record<string, unknown>; file: string } | null {
  for (const name of [DIR, `${DIR}.old`]) {
    const file = path.join(runDir, name, 'state.json');
    if (!fs.existsSync(file)) continue;
    try {
      return { state: JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>, file };
    } catch {
      throw new ColaError(`${file}: unreadable checkpoint state; remove ${path.dirname(file)} to restart the run`);
    }
  }
  return null;
}

/** The newest whole checkpoint, or null when the run has none. */
export function loadCheckpoint(runDir: string): Checkpoint | null {
  for (const name of [DIR, `${DIR}.old`]) {
    const dir = path.join(runDir, name);
    const stateFile = path.join(dir, 'state.json');
    if (!fs.existsSync(stateFile)) continue;
    let state: Record<string, unknown>;
    try {
      state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
    } catch {
      throw new ColaError(`${stateFile}: unreadable checkpoint state; remove ${dir} to restart the run`);
    }
    const file = openSafetensors(path.join(dir, 'tensors.safetensors'));
    const arrays = new Map<string, Float32Array>();
    for (const n of file.tensors.keys()) arrays.set(n, file.read(n, 'f32'));
    return { state, arrays };
  }
  return null;
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
