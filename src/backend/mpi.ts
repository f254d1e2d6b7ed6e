/** The optional Open MPI addon (native/mpi.cc, build/Release/cola_mpi.node; issue 19),
 * loaded lazily: only a run under `mpirun` (OMPI_COMM_WORLD_SIZE is set) or with
 * `--distributed` asks for it, so cola builds and runs single-process without MPI. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ColaError } from '../errors.js';

/** The ranks of one `mpirun` job and the collectives cola uses. Every call blocks until
 * every rank made the same call (a rank that never does is a fault: mpirun ends the job). */
export interface Communicator {
  readonly rank: number;
  readonly size: number;
  /** the host this rank runs on (MPI_Get_processor_name) */
  readonly host: string;
  /** in-place element-wise sum over the ranks */
  allreduceF32(a: Float32Array): void;
  allreduceF64(a: Float64Array): void;
  barrier(): void;
  /** `root`'s bytes on every rank (others pass null) */
  bcastBytes(bytes: Uint8Array | null, root: number): Uint8Array;
  /** on `root`, every rank's bytes in rank order; null on the others */
  gatherBytes(bytes: Uint8Array, root: number): Uint8Array[] | null;
  /** ends every rank of the job with `code` (MPI_Abort) */
  abort(code: number): void;
  finalize(): void;
}

interface MpiAddon {
  init(): { rank: number; size: number; host: string };
  allreduceF32(a: Float32Array): void;
  allreduceF64(a: Float64Array): void;
  barrier(): void;
  bcastBytes(bytes: Uint8Array | null, root: number): Uint8Array;
  gatherBytes(bytes: Uint8Array, root: number): Uint8Array[] | null;
  abort(code: number): void;
  finalize(): void;
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
export function mpiWorld(): Communicator {
  if (world) return world;
  if (!launchedByMpirun())
    throw new ColaError(
      `--distributed: this process was not started by mpirun (OMPI_COMM_WORLD_SIZE is not set); launch it as \`mpirun -np N cola ...\``,
    );
  const addon = loadAddon();
  const { rank, size, host } = addon.init();
  world = {
    rank,
    size,
    host,
    allreduceF32: (a) => addon.allreduceF32(a),
    allreduceF64: (a) => addon.allreduceF64(a),
    barrier: () => addon.barrier(),
    bcastBytes: (b, root) => addon.bcastBytes(b, root),
    gatherBytes: (b, root) => addon.gatherBytes(b, root),
    abort: (code) => addon.abort(code),
    finalize: () => {
      addon.finalize();
      world = null;
    },
  };
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
