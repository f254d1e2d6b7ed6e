import { valuesOf } from '../../config/flags.js';
import { runExperiment, type ExperimentRun } from '../../experiment/run.js';
import { launchedByMpirun, mpiWorld } from '../../backend/mpi.js';
import { parseExperiment } from '../../experiment/spec.js';
import { EXPERIMENT_FLAGS, SHARED_DATA_FLAGS, SHARED_RUN_FLAGS, experimentConfig, type ExperimentConfig } from '../../experiment/flags.js';
import { specsOf, type OptionValues } from '../options.js';
import { stoppable } from '../worker.js';

/** The typed experiment config of parsed flags. */
export function experimentConfigOf(v: OptionValues): ExperimentConfig {
  return experimentConfig(valuesOf(EXPERIMENT_FLAGS, v), valuesOf(SHARED_RUN_FLAGS, v), valuesOf(SHARED_DATA_FLAGS, v));
}

/** The grid, on a worker thread (see ../worker.ts): `shouldStop` turns true on Ctrl-C. */
function experiment(v: OptionValues, shouldStop: () => boolean): number {
  const config = experimentConfigOf(v);
  const comm = v['distributed'] === true || launchedByMpirun() ? mpiWorld() : null;
  const quiet = config.exp.quiet;
  let r: ExperimentRun;
  try {
    r = runExperiment(config, parseExperiment(config), { quiet, shouldStop, comm });
    comm?.finalize();
  } catch (e) {
    // The message names the rank; this rank exits non-zero and mpirun ends the others.
    if (comm && e instanceof Error) e.message = `rank ${comm.rank} of ${comm.size} (${comm.host}): ${e.message}`;
    throw e;
  }
  if (comm && comm.rank !== 0) return r.stopped ? 130 : 0;
  if (!quiet)
    process.stderr.write(
      `cola experiment: ${r.trained} run(s) trained, ${r.skipped} finished before; outputs in ${config.exp.out}: ${r.files.slice(0, 3).join(', ')}, plots/\n`,
    );
  if (r.stopped) {
    process.stderr.write('cola experiment: stopped; rerun the same command to continue where it stopped\n');
    return 130;
  }
  return 0;
}

export const experimentCommand = stoppable({
  name: 'experiment',
  summary: 'a grid of methods × learning rates × seeds × tasks at equal budgets; best LR on dev, test mean ± std',
  usage:
    'cola experiment --model DIR (--task rte,sst2 --data-dir DIR | --data CORPUS.txt) --out DIR [--methods LIST] [--lrs LIST] [--seeds N] [options]',
  options: {
    ...specsOf(EXPERIMENT_FLAGS),
    ...specsOf(SHARED_DATA_FLAGS),
    ...specsOf(SHARED_RUN_FLAGS),
    distributed: {
      type: 'boolean',
      help: 'spread the cells over the ranks of `mpirun -np N cola experiment ...` (implied under mpirun; refused outside it); each cell trains single-process',
    },
  },
  body: experiment,
});
