// The studio page (issue 20), main thread: the form, the live loss chart (knots marked),
// tokens/s, generations before and after, the adapter download, and ?autorun=. Training
// runs in studioWorker.ts; this file only draws what it reports.
//
// ?autorun=lora|cola&steps=N&seed=S trains on the served model and data without a click
// (cola: 3 links) and, when done, writes the result (protocol.ts StudioResult) as JSON
// into #result and window.colaResult; an error goes to window.colaError.
import { svgLineChart, type Point } from '../report/svg.js';
import type { DataFile, ServedInfo, StartMessage, StudioMethod, StudioResult, StudioSettings, WorkerMessage } from './protocol.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const input = (id: string): HTMLInputElement => $<HTMLInputElement>(id);

interface View {
  losses: Point[];
  knots: number[];
  totalSteps: number;
}

function drawChart(v: View): void {
  $('chart').innerHTML = svgLineChart([{ name: 'training loss', points: v.losses, dots: false }], {
    xLabel: 'optimizer step',
    yLabel: 'loss',
    width: 720,
    height: 300,
    markers: v.knots.map((x, i) => ({ x, label: `knot ${i + 1}` })),
    xDomain: [0, Math.max(1, v.totalSteps)],
  });
}

function settingsFromForm(): StudioSettings {
  const num = (id: string): number => Number(input(id).value);
  const ranks = input('linkRanks').value.trim();
  return {
    method: $<HTMLSelectElement>('method').value as StudioMethod,
    steps: num('steps'),
    seed: num('seed'),
    lr: num('lr'),
    rank: num('rank'),
    chainLength: num('chainLength'),
    linkRanks: ranks ? ranks.split(',').map((x) => Number(x.trim())) : [],
    knotEvery: num('knotEvery'),
    batchSize: num('batchSize'),
    maxLength: num('maxLength'),
    prompt: input('prompt').value,
    genTokens: Number(input('genTokens').value),
    backend: $<HTMLSelectElement>('backendChoice').value as StudioSettings['backend'],
  };
}

/** ?autorun=lora|cola&steps=N&seed=S over the form's values (cola: 3 links). */
function applyQuery(q: URLSearchParams): boolean {
  const method = q.get('autorun');
  if (method === null) return false;
  if (method !== 'lora' && method !== 'cola' && method !== 'relora') throw new Error(`?autorun=${method}: expected lora, cola or relora`);
  $<HTMLSelectElement>('method').value = method;
  if (method === 'cola') input('chainLength').value = '3';
  for (const key of ['steps', 'seed', 'lr', 'rank', 'batchSize', 'maxLength', 'genTokens']) {
    const v = q.get(key);
    if (v !== null) input(key).value = v;
  }
  const backend = q.get('backend');
  if (backend) $<HTMLSelectElement>('backendChoice').value = backend;
  showMethodFields();
  return true;
}

function showMethodFields(): void {
  const m = $<HTMLSelectElement>('method').value;
  for (const el of document.querySelectorAll<HTMLElement>('.cola, .relora')) el.style.display = el.classList.contains(m) ? '' : 'none';
}

function setDownload(id: string, bytes: BlobPart, type: string): void {
  const a = $<HTMLAnchorElement>(id);
  a.href = URL.createObjectURL(new Blob([bytes], { type }));
  a.classList.remove('disabled');
}

async function uploaded(): Promise<DataFile | undefined> {
  const f = input('upload').files?.[0];
  return f ? { name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) } : undefined;
}

async function start(): Promise<void> {
  const settings = settingsFromForm();
  const button = $<HTMLButtonElement>('start');
  button.disabled = true;
  const view: View = { losses: [], knots: [], totalSteps: settings.steps };
  drawChart(view);
  for (const id of ['before', 'after', 'result', 'progress']) $(id).textContent = '';
  const worker = new Worker('./studioWorker.js', { type: 'module' });
  const status = (text: string): void => {
    $('status').textContent = text;
  };
  worker.onerror = (e) => {
    status(`error: ${e.message}`);
    (window as { colaError?: string }).colaError = e.message;
    button.disabled = false;
  };
  worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
    const m = e.data;
    switch (m.kind) {
      case 'status':
        return status(m.text);
      case 'backend': {
        const b = $('backend');
        b.textContent = m.backend === 'webgpu' ? `WebGPU: ${m.adapter}` : `CPU (reference): ${m.adapter}`;
        b.className = `badge ${m.backend}`;
        return;
      }
      case 'step':
        view.losses.push([m.step, m.loss]);
        $('progress').textContent = `step ${m.step} / ${view.totalSteps}: loss ${m.loss.toFixed(4)}, ${Math.round(m.tokensPerS)} tokens/s`;
        return drawChart(view);
      case 'knot':
        view.knots.push(m.step);
        return drawChart(view);
      case 'generated':
        $(m.when).textContent = settings.prompt + m.text;
        return;
      case 'done':
        return finish(m.result, m.adapter);
      case 'error':
        status(`error: ${m.message}`);
        (window as { colaError?: string }).colaError = m.message;
        button.disabled = false;
        worker.terminate();
        return;
      default:
        return;
    }
  };
  const msg: StartMessage = { kind: 'start', settings, data: await uploaded() };
  worker.postMessage(msg);

  function finish(result: StudioResult, adapter: { config: string; weights: Uint8Array }): void {
    setDownload('download-config', adapter.config, 'application/json');
    setDownload('download-weights', adapter.weights as Uint8Array<ArrayBuffer>, 'application/octet-stream');
    status(
      `done in ${result.seconds.toFixed(1)} s: ${result.losses.length} steps, ${Math.round(result.tokens_per_s)} tokens/s; ` +
        `eval loss on ${result.eval.data}: ${result.eval.loss.toFixed(4)}`,
    );
    $('result').textContent = JSON.stringify(result, null, 1);
    (window as { colaResult?: StudioResult }).colaResult = result;
    button.disabled = false;
    worker.terminate();
  }
}

async function main(): Promise<void> {
  const info = (await (await fetch('./studio.json')).json()) as ServedInfo;
  $('model').textContent = `${info.model.name} (${info.model.files.join(', ')})`;
  $('data-served').textContent = info.data ? `served: ${info.data.name}` : 'none served (cola studio --data FILE): upload one';
  $('method').addEventListener('change', showMethodFields);
  $('start').addEventListener('click', () => void start());
  showMethodFields();
  drawChart({ losses: [], knots: [], totalSteps: Number(input('steps').value) });
  if (!crossOriginIsolated) $('backend').textContent = 'not cross-origin isolated: WebGPU needs COOP/COEP headers (cola studio sends them)';
  if (applyQuery(new URLSearchParams(location.search))) await start();
}

main().catch((e: Error) => {
  $('status').textContent = `error: ${e.message}`;
  (window as { colaError?: string }).colaError = e.message;
});
