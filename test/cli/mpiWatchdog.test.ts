// The watchdog of data-parallel training (issue 19): a rank that hangs without dying
// (SIGSTOP here; a deadlock looks the same to the others) must not block the job
// forever. Past --rank-timeout the waiting ranks stop the job with a message naming the
// collective and the rank that did not arrive; the last checkpoint stays whole and
// --resume finishes the run as if nothing had happened.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LOCK_FILE, pidAlive } from '../../src/io/runFolder.js';
import { tinyCorpus, tinyModelFolder } from '../helpers/tinyFolder.js';
import { colaBin, waitForSteps } from '../helpers/trainRuns.js';
import { events, maxTensorDiff, mpirunAsync, mpirunSync, rankPid, skipMpi } from '../helpers/mpi.js';

const ENV = { COLA_BACKEND: 'reference', OMP_NUM_THREADS: '1' };
/** Short, so the test is fast; long enough that a loaded machine's normal step never trips it. */
const TIMEOUT_S = 5;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-mpi-watchdog-'));
const model = tinyModelFolder(7);
const corpus = tinyCorpus(work, 44);
const base = ['train', '--model', model, '--data', corpus, '--batch-size', '8', '--max-length', '16', '--lr', '5e-3', '--quiet'];

test('--rank-timeout outside a distributed run is refused before anything is written', () => {
  const out = path.join(work, 'refused');
  const r = spawnSync(process.execPath, [colaBin, ...base, '--method', 'lora', '--max-steps', '1', '--rank-timeout', '5', '--out', out], {
    encoding: 'utf8',
    env: { ...process.env, ...ENV, OMPI_COMM_WORLD_SIZE: '' },
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /--rank-timeout applies to data-parallel runs under mpirun/);
  assert.ok(!fs.existsSync(out), 'nothing written');
});

test(
  'a stopped rank (SIGSTOP) ends the job within --rank-timeout, naming it; --resume finishes the uninterrupted run',
  { skip: skipMpi },
  async () => {
    const args = [
      ...base,
      '--method',
      'cola',
      '--chain-length',
      '3',
      '--epochs',
      '6',
      '--save-every',
      '1',
      '--rank-timeout',
      String(TIMEOUT_S),
    ];
    const full = path.join(work, 'full');
    const r = mpirunSync(2, [colaBin, ...args, '--out', full], ENV);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      (JSON.parse(fs.readFileSync(path.join(full, 'config.json'), 'utf8')) as { run: { rankTimeout: number } }).run.rankTimeout,
      TIMEOUT_S,
    );
    const steps = events(full).filter((e) => e['event'] === 'step').length;

    const out = path.join(work, 'stopped');
    const job = mpirunAsync(2, [colaBin, ...args, '--out', out], ENV);
    let output = '';
    job.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    job.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => job.once('exit', (c) => resolve(c)));
    await waitForSteps(job, out, Math.floor(steps / 2));
    const victim = rankPid(job.pid!, 1);
    assert.ok(victim, 'rank 1 found among the children of mpirun');
    const t0 = Date.now();
    process.kill(victim, 'SIGSTOP');
    try {
      const code = await exited;
      const seconds = (Date.now() - t0) / 1000;
      assert.notEqual(code, 0, output);
      // the deadline, the 2 s of asking the others where they are, and mpirun ending the job
      assert.ok(seconds < TIMEOUT_S + 20, `the job ended ${seconds} s after the stop`);
      assert.ok(seconds >= TIMEOUT_S - 1, `the job ended ${seconds} s after the stop: before the deadline?`);
      console.log(`--rank-timeout ${TIMEOUT_S}: the job ended ${seconds.toFixed(1)} s after rank 1 was stopped`);
      // the collective's label may hold parentheses of its own: "rank 0's checkpoint at step 8 (rank 0 works alone, ...)"
      assert.match(
        output,
        /rank 0 of 2 \(.*\): MPI_\w+ \(.*collective #\d+\) did not complete within the rank timeout \([\d.]+ s\): rank\(s\) 1 did not reach it/,
        output,
      );
    } finally {
      if (pidAlive(victim)) process.kill(victim, 'SIGKILL');
    }
    const logged = events(out).filter((e) => e['event'] === 'step').length;
    assert.ok(logged < steps, 'stopped before the end');

    const lock = path.join(out, LOCK_FILE);
    for (let i = 0; i < 200 && fs.existsSync(lock) && pidAlive(Number(fs.readFileSync(lock, 'utf8'))); i++)
      await new Promise((res) => setTimeout(res, 100));
    const again = mpirunSync(2, [colaBin, ...args, '--out', out, '--resume'], ENV);
    assert.equal(again.status, 0, again.stderr);
    const timeless = (dir: string) => events(dir).map(({ ms: _ms, tokens_per_s: _tps, elapsed_s: _e, ...e }) => e);
    assert.deepEqual(timeless(out), timeless(full), 'the resumed run logs what the uninterrupted one did (times aside)');
    assert.equal(
      maxTensorDiff(path.join(out, 'adapter', 'adapter_model.safetensors'), path.join(full, 'adapter', 'adapter_model.safetensors')),
      0,
    );
  },
);

test('3 ranks: the message tells a silent rank from one waiting in another collective', { skip: skipMpi }, () => {
  // rank 0 and rank 1 take different paths at their second collective (a deadlock), rank 2
  // never reaches it (busy in JavaScript for longer than the test)
  const mpiModule = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/backend/mpi.js');
  const script = path.join(work, 'deadlock.mjs');
  fs.writeFileSync(
    script,
    `import { mpiWorld } from ${JSON.stringify(mpiModule)};
const comm = mpiWorld();
comm.setTimeout(2);
const a = new Float64Array(4);
comm.allreduceF64(a, 'first');
if (comm.rank === 2) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
else comm.allreduceF64(a, comm.rank === 0 ? 'path A' : 'path B');
`,
  );
  const t0 = Date.now();
  const r = mpirunSync(3, [script], {});
  const seconds = (Date.now() - t0) / 1000;
  assert.notEqual(r.status, 0);
  assert.ok(seconds < 40, `${seconds} s`);
  // whichever of rank 0 and rank 1 speaks first: it names rank 2 as silent, the other as elsewhere
  assert.match(r.stderr, /MPI_Allreduce \(path [AB], collective #2\) did not complete within the rank timeout/, r.stderr);
  assert.match(r.stderr, /rank\(s\) 2 did not reach it and did not answer/);
  assert.match(r.stderr, /rank [01] waits in collective #2 \(path [AB]\)/);
});
