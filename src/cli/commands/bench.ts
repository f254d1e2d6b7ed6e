import { ColaError } from '../../errors.js';
import type { Command } from '../command.js';

export const benchCommand: Command = {
  name: 'bench',
  summary: 'benchmarks (not tests): matmul GFLOP/s of the native backend',
  usage: 'cola bench matmul [--json] [--repeats N]',
  options: {
    json: { type: 'boolean', help: 'one JSON object per line: dtype, m, k, n, gflops' },
    repeats: { type: 'int', default: 7, help: 'timed repetitions per shape (median reported)' },
  },
  async run(v, pos) {
    if (pos[0] !== 'matmul') throw new ColaError(`unknown benchmark "${pos[0] ?? ''}"; available: matmul (train-step is not built yet)`);
    const { benchMatmul } = await import('../../../bench/matmul.js');
    await benchMatmul({ json: (v['json'] as boolean | undefined) ?? false, repeats: v['repeats'] as number });
    return 0;
  },
};
