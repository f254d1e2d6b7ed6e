// The messages between the studio page (page.ts, main thread) and its training worker
// (studioWorker.ts). Training runs in the worker: the webgpu backend blocks in
// Atomics.wait (not allowed on a page's main thread), and the page stays responsive.

export type StudioMethod = 'lora' | 'cola' | 'relora';

/** What the page asks for: the `cola train` flags of the run (same names, camelCase). */
export interface StudioSettings {
  method: StudioMethod;
  /** --max-steps */
  steps: number;
  seed: number;
  lr: number;
  /** --rank (LoRA) */
  rank: number;
  /** COLA: --chain-length (links) */
  chainLength: number;
  /** COLA/ReLoRA: --link-ranks, empty = --rank for every link */
  linkRanks: number[];
  /** ReLoRA: --knot-every */
  knotEvery: number;
  batchSize: number;
  maxLength: number;
  /** prompt of the before/after generations, and new tokens */
  prompt: string;
  genTokens: number;
  /** 'auto': webgpu when the browser has an adapter, else the reference backend */
  backend: 'auto' | 'webgpu' | 'reference';
}

/** A data file: the one `cola studio --data` serves, or one the user uploaded. */
export interface DataFile {
  name: string;
  bytes: Uint8Array;
}

export interface StartMessage {
  kind: 'start';
  settings: StudioSettings;
  /** uploaded data; absent: the served file */
  data?: DataFile;
}

/** What the page writes into #result and window.colaResult when a run ends (issue 20). */
export interface StudioResult {
  backend: 'webgpu' | 'reference';
  /** the WebGPU adapter ("google swiftshader"), or why the reference backend runs */
  adapter: string;
  /** training loss per optimizer step (step 1 first) */
  losses: number[];
  /** steps after which a knot was tied (merge + fresh adapter) */
  knots: number[];
  /** training tokens per second over the run */
  tokens_per_s: number;
  /** loss and perplexity of the trained model on the whole data file, as
   * `cola eval --data FILE --max-length L` scores it (docs/WEB.md) */
  eval: { data: string; loss: number; perplexity: number; tokens: number };
  /** the `cola train` flags this run equals (minus --model/--data/--out) */
  train_args: string[];
  model: string;
  seconds: number;
}

export type WorkerMessage =
  | { kind: 'status'; text: string }
  | { kind: 'backend'; backend: 'webgpu' | 'reference'; adapter: string }
  | { kind: 'plan'; totalSteps: number; knots: number[] }
  | { kind: 'step'; step: number; loss: number; link: number; tokensPerS: number }
  | { kind: 'knot'; step: number }
  | { kind: 'generated'; when: 'before' | 'after'; text: string }
  | { kind: 'done'; result: StudioResult; adapter: { config: string; weights: Uint8Array } }
  | { kind: 'error'; message: string };

/** What `cola studio` serves at /studio.json: the model folder's files and the data file. */
export interface ServedInfo {
  model: { name: string; files: string[] };
  data: { name: string } | null;
}
