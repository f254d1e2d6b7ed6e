// The studio's training worker (issue 20): reads the served model folder and data into
// the in-memory file tree, picks the backend (webgpu when the browser has an adapter,
// else the reference backend, and says which), then runs the library's own fineTune():
// the same trainRun -> runChain -> train() path as `cola train`, so the page's loss curve
// is `cola train`'s by construction. Events go to the page as they are logged.
import type { Backend } from '../backend/backend.js';
import { referenceBackend } from '../backend/reference/index.js';
import { createWebGpuBackend } from '../backend/webgpu/index.js';
import { fineTune } from '../api/fineTune.js';
import { generateText } from '../api/generateText.js';
import { loadTokenizer } from '../io/tokenizer.js';
import { loadModel } from '../models/load.js';
import type { RunEvent } from '../train/metricsLog.js';
import { checkDataFile, evaluateDataFile } from './evalFile.js';
import { listFiles, putFile, readFileSync, rmSync } from './platform/fs.js';
import type { ServedInfo, StartMessage, StudioResult, StudioSettings, WorkerMessage } from './protocol.js';
import { runOptions, trainArgs } from './trainArgs.js';

const MODEL_DIR = '/model';
const RUN_DIR = '/run';

const post = (m: WorkerMessage, transfer: Transferable[] = []): void =>
  (self as unknown as { postMessage(m: WorkerMessage, t: Transferable[]): void }).postMessage(m, transfer);

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} (is cola studio still running?)`);
  return new Uint8Array(await r.arrayBuffer());
}

/** The served model folder and data file, into the in-memory file tree. */
async function readInputs(uploaded: StartMessage['data']): Promise<{ info: ServedInfo; dataFile: string }> {
  const info = (await (await fetch('/studio.json')).json()) as ServedInfo;
  for (const name of info.model.files) putFile(`${MODEL_DIR}/${name}`, await fetchBytes(`/model/${encodeURIComponent(name)}`));
  if (uploaded) {
    putFile(`/data/${uploaded.name}`, uploaded.bytes);
    return { info, dataFile: `/data/${uploaded.name}` };
  }
  if (!info.data) throw new Error('no data: upload a .txt or .jsonl file, or start cola studio with --data FILE');
  putFile(`/data/${info.data.name}`, await fetchBytes(`/data/${encodeURIComponent(info.data.name)}`));
  return { info, dataFile: `/data/${info.data.name}` };
}

async function pickBackend(
  choice: StudioSettings['backend'],
): Promise<{ backend: Backend; name: 'webgpu' | 'reference'; adapter: string }> {
  if (choice === 'reference') return { backend: referenceBackend, name: 'reference', adapter: 'reference backend (chosen on the page)' };
  if (!(navigator as { gpu?: unknown }).gpu) {
    if (choice === 'webgpu') throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
    return { backend: referenceBackend, name: 'reference', adapter: 'no WebGPU in this browser: the CPU reference backend runs instead' };
  }
  try {
    const gpu = await createWebGpuBackend({ gpuWorkerUrl: new URL('./gpuWorker.js', self.location.href) });
    return { backend: gpu.backend, name: 'webgpu', adapter: gpu.adapter };
  } catch (e) {
    if (choice === 'webgpu') throw e;
    return {
      backend: referenceBackend,
      name: 'reference',
      adapter: `no WebGPU adapter (${(e as Error).message}): the CPU reference backend runs instead`,
    };
  }
}

async function run(msg: StartMessage): Promise<void> {
  const s = msg.settings;
  const started = performance.now();
  post({ kind: 'status', text: 'reading the model and data…' });
  const { info, dataFile } = await readInputs(msg.data);
  const picked = await pickBackend(s.backend);
  post({ kind: 'backend', backend: picked.name, adapter: picked.adapter });
  const model = loadModel(MODEL_DIR, { backend: picked.backend });
  const tokenizer = loadTokenizer(MODEL_DIR);
  checkDataFile(tokenizer, dataFile);
  const gen = (when: 'before' | 'after'): void => {
    if (s.genTokens <= 0) return;
    post({ kind: 'status', text: `generating (${when} training)…` });
    post({ kind: 'generated', when, text: generateText(model, tokenizer, s.prompt, { maxNewTokens: s.genTokens }) });
  };
  gen('before');
  const losses: number[] = [];
  const knots: number[] = [];
  let tokens = 0;
  let ms = 0;
  const onEvent = (e: RunEvent): void => {
    if (e.event === 'step') {
      losses.push(e['loss'] as number);
      tokens += e['tokens'] as number;
      ms += e['ms'] as number;
      post({
        kind: 'step',
        step: e['step'] as number,
        loss: e['loss'] as number,
        link: e['link'] as number,
        tokensPerS: e['tokens_per_s'] as number,
      });
    } else if (e.event === 'knot') {
      knots.push(e['step'] as number);
      post({ kind: 'knot', step: e['step'] as number });
    }
  };
  const options = runOptions(s);
  rmSync(RUN_DIR, { recursive: true, force: true });
  post({ kind: 'status', text: `training (${s.method}, ${s.steps} steps) on ${picked.name}…` });
  // --rank is `lora.r` in fineTune (LoRA settings come as PEFT's LoraConfig)
  const { rank, ...flags } = options;
  const done = fineTune({
    ...flags,
    lora: { r: rank },
    model,
    tokenizer,
    data: dataFile,
    outDir: RUN_DIR,
    baseModel: info.model.name,
    report: false,
    onEvent,
  });
  post({ kind: 'status', text: 'evaluating on the data file…' });
  const metrics = evaluateDataFile(model, tokenizer, dataFile, s.maxLength);
  gen('after');
  const adapterDir = done.adapterDir ?? `${RUN_DIR}/adapter`;
  const config = readFileSync(`${adapterDir}/adapter_config.json`, 'utf8') as string;
  const weights = readFileSync(`${adapterDir}/adapter_model.safetensors`) as Uint8Array;
  const result: StudioResult = {
    backend: picked.name,
    adapter: picked.adapter,
    losses,
    knots,
    tokens_per_s: ms > 0 ? (tokens * 1000) / ms : 0,
    eval: { data: dataFile.slice('/data/'.length), loss: metrics['loss']!, perplexity: metrics['perplexity']!, tokens: metrics['tokens']! },
    train_args: trainArgs(options),
    model: info.model.name,
    seconds: (performance.now() - started) / 1000,
  };
  post({ kind: 'done', result, adapter: { config, weights } }, [weights.buffer as ArrayBuffer]);
}

/** Files the run wrote, for debugging in the console: `listFiles('/run')`. */
(globalThis as { colaFiles?: typeof listFiles }).colaFiles = listFiles;

self.onmessage = (e: MessageEvent<StartMessage>) => {
  if (e.data.kind !== 'start') return;
  run(e.data).catch((err: Error) => post({ kind: 'error', message: err.message }));
};
