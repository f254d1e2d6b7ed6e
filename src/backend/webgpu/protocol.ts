// The channel between the training worker (client.ts, synchronous) and the GPU
// worker (gpuWorker.ts, which owns the GPUDevice and needs its event loop for
// mapAsync). Two SharedArrayBuffers:
// - control: Int32 state word + the request/response text (JSON);
// - data: every array of one call, 4 bytes an element (bf16 widened to f32 bits,
//   i32 and f32 as they are), each at a 16-byte aligned offset. It grows (a
//   growable SharedArrayBuffer) when a call needs more.
// The client writes a request, sets state REQUEST, notifies and blocks in
// Atomics.wait (allowed in workers); the GPU worker waits with Atomics.waitAsync,
// runs the kernels, writes the outputs back over the inputs' slots and sets DONE
// (or FAILED with a message).

export const STATE_IDLE = 0;
export const STATE_REQUEST = 1;
export const STATE_DONE = 2;
export const STATE_FAILED = 3;
/** Set by a client that is done (Node, where one GPU thread serves every channel of
 * the process): the GPU worker frees the channel's buffers and device and stops serving it. */
export const STATE_CLOSE = 4;

/** Int32 words at the start of the control buffer: [state, text bytes, start, unused].
 * The start word (READY_WORD) serves Node's blocking start (src/backend/webgpuNode/):
 * the GPU thread writes its ReadyMessage as text and sets it to READY_SET. */
export const CONTROL_WORDS = 4;
export const READY_WORD = 2;
export const READY_SET = 1;
export const TEXT_BYTES = 1 << 20;
export const CONTROL_BYTES = CONTROL_WORDS * 4 + TEXT_BYTES;
/** Largest data region (a call's arrays together). */
export const MAX_DATA_BYTES = 1 << 30;

/** How a slot's array is used by the call: read, overwritten, or both. */
export type SlotMode = 'in' | 'out' | 'inout';

export interface SlotHeader {
  offset: number; // bytes into the data buffer
  length: number; // elements (4 bytes each there)
  mode: SlotMode;
  /** An array kept on the GPU across calls (frozen weights, client.ts Resident): `keep`
   * uploads it (from the data buffer, as any 'in' slot) and the GPU worker keeps the
   * buffer under `id`; without `keep` nothing travels and the kept buffer is bound. */
  resident?: { id: number; keep: boolean };
}

/** One primitive call: the kernel name, its scalars and its arrays in order. */
export interface Request {
  op: string;
  params: Record<string, unknown>;
  slots: SlotHeader[];
  /** kept buffers whose arrays are gone: the GPU worker frees them first */
  release?: number[];
}

/** The message that starts the GPU worker. */
export interface StartMessage {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

/** Its answer once the device is ready (or why not). */
export type ReadyMessage = { ok: true; adapter: string; features: string[] } | { ok: false; error: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Writes `value` as JSON into the control buffer's text area. */
export function writeText(control: SharedArrayBuffer, value: unknown): void {
  const bytes = encoder.encode(JSON.stringify(value));
  if (bytes.length > TEXT_BYTES) throw new Error(`webgpu channel: a message of ${bytes.length} bytes exceeds ${TEXT_BYTES}`);
  new Uint8Array(control, CONTROL_WORDS * 4, bytes.length).set(bytes);
  new Int32Array(control)[1] = bytes.length;
}

/** Reads the JSON written by writeText (TextDecoder refuses shared memory: copied first). */
export function readText<T>(control: SharedArrayBuffer): T {
  const n = new Int32Array(control)[1]!;
  const copy = new Uint8Array(n);
  copy.set(new Uint8Array(control, CONTROL_WORDS * 4, n));
  return JSON.parse(decoder.decode(copy)) as T;
}
