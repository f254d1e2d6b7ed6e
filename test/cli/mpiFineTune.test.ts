// fineTune({ distributed: true }) (issue 19): the library's data-parallel run. A script
// launched by `mpirun -np 2 node script.mjs` trains what `mpirun -np 2 cola train` does
// with the same settings (same code path: byte-identical adapter); outside mpirun the
// option is refused, and rankTimeout without it too.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fineTune } from '../../src/api/fineTune.js';
import { loadPretrained } from '../../src/api/load.js';
import { tinyCorpus, tinyModelFolder } from '../helpers/tinyFolder.js';
import { colaBin } from '../helpers/trainRuns.js';
import { events, mpirunSync, skipMpi } from '../helpers/mpi.js';

const ENV = { COLA_BACKEND: 'reference', OMP_NUM_THREADS: '1' };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-mpi-api-'));
const model = tinyModelFolder(7);
const corpus = tinyCorpus(work, 44);
const index = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/index.js');

test('fineTune({ distributed: true }) outside mpirun, and rankTimeout without it, are refused before anything is written', () => {
  const saved = process.env.OMPI_COMM_WORLD_SIZE;
  delete process.env.OMPI_COMM_WORLD_SIZE;
  try {
    const { model: m, tokenizer } = loadPretrained(model, { backend: 'reference' });
    const o = { model: m, tokenizer, data: corpus, method: 'lora', maxSteps: 1, batchSize: 8, maxLength: 16 } as const;
    const out = path.join(work, 'refused');
    assert.throws(
      () => fineTune({ ...o, outDir: out, distributed: true }),
      /fineTune\(\{ distributed: true \}\): this process was not started by mpirun.*mpirun -np N node script\.mjs/,
    );
    assert.throws(() => fineTune({ ...o, outDir: out, rankTimeout: 5 }), /--rank-timeout applies to data-parallel runs/);
    assert.ok(!fs.existsSync(out), 'nothing written');
  } finally {
    if (saved !== undefined) process.env.OMPI_COMM_WORLD_SIZE = saved;
  }
});

test(
  'a script calling fineTune({ distributed: true }) under mpirun -np 2 trains what mpirun -np 2 cola train does',
  { skip: skipMpi },
  () => {
    const script = path.join(work, 'train.mjs');
    const apiOut = path.join(work, 'api');
    fs.writeFileSync(
      script,
      `import { fineTune, loadPretrained } from ${JSON.stringify(index)};
const { model, tokenizer } = loadPretrained(${JSON.stringify(model)}, { backend: 'reference' });
const r = fineTune({ model, tokenizer, data: ${JSON.stringify(corpus)}, method: 'cola', chainLength: 2, epochs: 2,
  batchSize: 8, maxLength: 16, lr: 5e-3, outDir: ${JSON.stringify(apiOut)}, baseModel: ${JSON.stringify(path.resolve(model))},
  distributed: true, rankTimeout: 60 });
console.log(JSON.stringify({ rank: Number(process.env.OMPI_COMM_WORLD_RANK), steps: r.steps, stopped: r.stopped }));
`,
    );
    const r = mpirunSync(2, [script], ENV);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { rank: number; steps: number; stopped: boolean })
      .sort((a, b) => a.rank - b.rank);
    assert.deepEqual(
      lines.map((l) => l.rank),
      [0, 1],
      'both ranks returned',
    );
    assert.ok(lines.every((l) => l.steps === lines[0]!.steps && !l.stopped));

    const cliOut = path.join(work, 'cli');
    const args = ['train', '--model', model, '--data', corpus, '--method', 'cola', '--chain-length', '2', '--epochs', '2'];
    const c = mpirunSync(2, [colaBin, ...args, '--batch-size', '8', '--max-length', '16', '--lr', '5e-3', '--quiet', '--out', cliOut], ENV);
    assert.equal(c.status, 0, c.stderr);
    const file = (dir: string) => fs.readFileSync(path.join(dir, 'adapter', 'adapter_model.safetensors'));
    assert.deepEqual(file(apiOut), file(cliOut), 'the same adapter, byte for byte');
    const config = (dir: string) =>
      JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { ranks: number; run: { rankTimeout: number } };
    assert.equal(config(apiOut).ranks, 2);
    assert.equal(config(apiOut).run.rankTimeout, 60);
    assert.equal(events(apiOut).filter((e) => e['event'] === 'step').length, lines[0]!.steps, 'rank 0 alone wrote metrics.jsonl');
  },
);
