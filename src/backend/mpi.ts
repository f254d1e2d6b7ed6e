/** The optional Open MPI addon (native/mpi.cc, build/Release/cola_mpi.node; issue 19),
 * loaded lazily: only a run under `mpirun` (OMPI_COMM_WORLD_SIZE is set) or with
 * `--distributed` asks for it, so cola builds and runs single-process without MPI. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ColaError } from '../errors.js';

/** The ranks of one `mpirun` job and the collectives cola uses. Every call blocks until
 * every rank made the same call. A rank that dies is a fault mpirun handles (it ends the
 * job); a rank that hangs is caught by the watchdog (setTimeout): past the deadline the
 * waiting ranks throw a ColaError naming the ranks that did not arrive. `what` names the
 * collective in that message ("gradients", "stop flag", ...). */
export interface Communicator {
  readonly rank: number;
  readonly size: number;
  /** the host this rank runs on (MPI_Get_processor_name) */
  readonly host: string;
  /** in-place element-wise sum over the ranks */
  allreduceF32(a: Float32Array, what?: string): void;
  allreduceF64(a: Float64Array, what?: string): void;
  barrier(what?: string): void;
  /** `root`'s bytes on every rank (others pass null) */
  bcastBytes(bytes: Uint8Array | null, root: number, what?: string): Uint8Array;
  /** on `root`, every rank's bytes in rank order; null on the others */
  gatherBytes(bytes: Uint8Array, root: number, what?: string): Uint8Array[] | null;
  /** The watchdog: every later collective waits at most `seconds` for the other ranks
   * (0, the default: forever, Open MPI's blocking collectives). Set the same on every rank. */
  setTimeout(seconds: number): void;
  /** ends every rank of the job with `code` (MPI_Abort) */
  abort(code: number): void;
  finalize(): void;
}

/** `--rank-timeout`'s default (seconds): NCCL's default collective timeout. A wait for a
 * rank that works alone (rank 0's dev evaluation, checkpoints, exports) counts too. */
export const DEFAULT_RANK_TIMEOUT_S = 600;

/** The addon: the collectives as the Communicator has them, and init for who this rank is. */
interface MpiAddon extends Omit<Communicator, 'rank' | 'size' | 'host'> {
  init(): { rank: number; size: number; host: string };
}

/** The watchdog's error arrives from the addon as a plain Error ("cola_mpi: ..."): a
 * ColaError is what cola prints as a message, not a stack trace. */
function watched<T>(call: () => T): T {
  try {
    return call();
  } catch (e) {
    if (e instanceof Error && !(e instanceof ColaError) && e.message.startsWith('cola_mpi: ')) throw new ColaError(e.message.slice(10));
    throw e;
  }
}

export const MPI_BUILD_HINT =
  'install Open MPI (Debian: `apt-get install openmpi-bin libopenmpi-dev`), run `npm run build:native` (it builds build/Release/cola_mpi.node when `mpicc` is found), then launch with `mpirun -np N cola ...`';

/** Whether this process was started by Open MPI's mpirun (it sets OMPI_COMM_WORLD_SIZE). */
export function launchedByMpirun(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.OMPI_COMM_WORLD_SIZE ?? '') !== '';
}

let world: Communicator | null = null;

/** The job's communicator (MPI_Init on the first call). Throws a ColaError saying how
 * to enable MPI when the addon is not built, or when the process is not under mpirun. */
export function mpiWorld(asked: { by: string; launch: string } = { by: '--distributed', launch: 'cola ...' }): Communicator {
  if (world) return world;
  if (!launchedByMpirun())
    throw new ColaError(
      `${asked.by}: this process was not started by mpirun (OMPI_COMM_WORLD_SIZE is not set); launch it as \`mpirun -np N ${asked.launch}\``,
    );
  const addon = loadAddon();
  const { rank, size, host } = addon.init();
  world = {
    rank,
    size,
    host,
    allreduceF32: (a, what) => watched(() => addon.allreduceF32(a, what)),
    allreduceF64: (a, what) => watched(() => addon.allreduceF64(a, what)),
    barrier: (what) => watched(() => addon.barrier(what)),
    bcastBytes: (b, root, what) => watched(() => addon.bcastBytes(b, root, what)),
    gatherBytes: (b, root, what) => watched(() => addon.gatherBytes(b, root, what)),
    setTimeout: (seconds) => addon.setTimeout(seconds),
    abort: (code) => addon.abort(code),
    finalize: () => {
      addon.finalize();
      world = null;
    },
  };
  return world;
}

/** The communicator when MPI is up in this process, else null (nothing is initialised). */
export function mpiWorldIfUp(): Communicator | null {
  return world;
}

function loadAddon(): MpiAddon {
  const path = join(packageRoot(), 'build', 'Release', 'cola_mpi.node');
  if (!existsSync(path)) throw new ColaError(`the Open MPI addon is not built (${path} does not exist); to enable it: ${MPI_BUILD_HINT}`);
  try {
    return createRequire(import.meta.url)(path) as MpiAddon;
  } catch (err) {
    throw new ColaError(`${path} failed to load (${(err as Error).message}); ${MPI_BUILD_HINT}`);
  }
}

/** The repository root: the nearest ancestor of this module holding package.json. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return dir;
}
