// Helpers for the tests that run cola under Open MPI's mpirun (issue 19).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSafetensors } from '../../src/io/safetensors.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const mpiAddon = path.join(repoRoot, 'build', 'Release', 'cola_mpi.node');

function haveMpirun(): boolean {
  return spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** false when the MPI tests can run, else why not (node:test's skip message). */
export const skipMpi: string | false = !haveMpirun()
  ? 'mpirun not found: install Open MPI (apt-get install openmpi-bin libopenmpi-dev) to run the MPI tests'
  : !fs.existsSync(mpiAddon)
    ? `${mpiAddon} not built: install libopenmpi-dev and run npm run build:native to run the MPI tests`
    : false;

/** The environment every rank gets: mpirun forwards its own to local ranks; `-x` names
 * them so a remote rank would get them too. */
function envFlags(env: Record<string, string>): string[] {
  return Object.keys(env).flatMap((k) => ['-x', k]);
}

/** `mpirun -np N node bin/cola.js ARGS` (as root too: --allow-run-as-root; more ranks than
 * cores: --oversubscribe). */
export function mpirunArgs(np: number, colaArgs: string[], env: Record<string, string>): string[] {
  return ['--allow-run-as-root', '--oversubscribe', '-np', String(np), ...envFlags(env), process.execPath, ...colaArgs];
}

export function mpirunSync(
  np: number,
  colaArgs: string[],
  env: Record<string, string>,
): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync('mpirun', mpirunArgs(np, colaArgs, env), { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

export function mpirunAsync(np: number, colaArgs: string[], env: Record<string, string>): ChildProcess {
  return spawn('mpirun', mpirunArgs(np, colaArgs, env), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The pid of the cola process that is rank `rank` of a job started by `mpirunPid`
 * (a child of mpirun whose environment says OMPI_COMM_WORLD_RANK=rank), or null. */
export function rankPid(mpirunPid: number, rank: number): number | null {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== mpirunPid) continue;
      const env = fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (env.includes(`OMPI_COMM_WORLD_RANK=${rank}`)) return Number(entry);
    } catch {
      // the process ended meanwhile
    }
  }
  return null;
}

/** Every tensor of a safetensors file, as f32. */
export function readTensors(file: string): Map<string, Float32Array> {
  const f = openSafetensors(file);
  return new Map([...f.tensors.keys()].map((k) => [k, f.read(k, 'f32')]));
}

/** The largest absolute difference between two files' tensors (same names required). */
/** The largest |value| over a safetensors file's tensors (the scale of an adapter). */
export function maxTensorAbs(a: string): number {
  let max = 0;
  for (const x of readTensors(a).values()) for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]!));
  return max;
}

export function maxTensorDiff(a: string, b: string): number {
  const ta = readTensors(a);
  const tb = readTensors(b);
  if ([...ta.keys()].sort().join() !== [...tb.keys()].sort().join()) throw new Error(`${a} and ${b} hold different tensors`);
  let max = 0;
  for (const [k, x] of ta) {
    const y = tb.get(k)!;
    if (x.length !== y.length) throw new Error(`${k}: ${x.length} vs ${y.length} elements`);
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]! - y[i]!));
  }
  return max;
}

/** Every event of a run's metrics.jsonl. */
export function events(runDir: string): Record<string, unknown>[] {
  return fs
    .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
