// The webgpu backend in Node (issue 20): the browser's GPU worker and WGSL kernels
// (src/backend/webgpu/) run in a worker_threads Worker over Dawn's npm package
// `webgpu` (an optional dependency), and the main thread gets the same synchronous
// channel backend. Dawn reaches GPUs through Vulkan here: a GPU's Vulkan driver, or
// SwiftShader (a software Vulkan on the CPU, shipped with Chromium), which cola uses
// by itself, with a note, when no adapter is found and VK_ICD_FILENAMES is unset.
// Debian 12's lavapipe lacks a feature Dawn requires. See docs/WEBGPU.md.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import { ColaError } from '../../errors.js';
import { computeFor } from '../compute.js';
import { connectBackend, type WebGpuBackend } from '../webgpu/index.js';
import type { WeightStorage } from '../webgpu/weightStorage.js';
import type { ThreadReady } from './messages.js';
import { openChannel, stopGpuThread, type OpenedChannel } from './thread.js';

/** Chromium's SwiftShader Vulkan driver (Debian's chromium package). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const INSTALL_HINT = 'install it with `npm install webgpu@0.6.2` (an optional dependency of cola: npm skips it where it has no build)';
const ADAPTER_HINT =
  `Dawn reaches a GPU through Vulkan: install the GPU's Vulkan driver (NVIDIA: the proprietary driver; AMD/Intel: mesa-vulkan-drivers) and libvulkan1, ` +
  `or use the software adapter SwiftShader: \`apt-get install libvulkan1 chromium\` and VK_ICD_FILENAMES=${SWIFTSHADER_ICD}`;

/** Why the package `webgpu` cannot be loaded, or null when it resolves. */
export function webgpuPackageMissing(): string | null {
  try {
    createRequire(import.meta.url).resolve('webgpu');
    return null;
  } catch {
    return `Dawn's npm package \`webgpu\` is not installed; ${INSTALL_HINT}`;
  }
}

/** Whether cola may point the Vulkan loader at SwiftShader itself: the user chose no
 * driver, and this is the main thread (only its process.env reaches the C environment
 * the loader reads; `cola train` runs in a worker thread: prepareWebGpuEnv does it first). */
function swiftShaderFallback(): boolean {
  return isMainThread && !process.env['VK_ICD_FILENAMES'] && !process.env['VK_DRIVER_FILES'] && existsSync(SWIFTSHADER_ICD);
}

const SOFTWARE_NOTE =
  `cola: webgpu: no GPU adapter found; using SwiftShader (${SWIFTSHADER_ICD}), a software Vulkan on the CPU: ` +
  'slow, for testing. Set VK_ICD_FILENAMES to choose a driver.\n';

/** cola pointed the Vulkan loader at SwiftShader itself (this process's GPU thread runs on it). */
let software = false;
/** the note saying so was printed */
let noted = false;

/** Opens a channel on the GPU thread; when a new thread finds no adapter and the user
 * set no driver, retries on SwiftShader (setting VK_ICD_FILENAMES for this process). */
function openWithFallback(probe: boolean): OpenedChannel {
  const first = openChannel(probe);
  if (first.ready.ok || !first.ready.noAdapter || !swiftShaderFallback()) return first;
  process.env['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;
  software = true;
  return openChannel(probe);
}

/** Called by bin/cola.js (runtime.ts prepareProcessEnv) on the main thread before a
 * command runs, when the webgpu backend is asked for (`--backend webgpu` or
 * COLA_BACKEND=webgpu): where Dawn finds no adapter and the user set no driver, points
 * the process (and the worker thread `cola train` runs in) at SwiftShader, with the note. */
export function prepareWebGpuEnv(argv: readonly string[], env: Record<string, string | undefined> = process.env): void {
  const i = argv.indexOf('--backend');
  const asked = env['COLA_BACKEND'] === 'webgpu' || argv.includes('--backend=webgpu') || (i >= 0 && argv[i + 1] === 'webgpu');
  if (!asked || !swiftShaderFallback() || webgpuPackageMissing()) return;
  openWithFallback(true);
  // the thread that serves starts where the backend is made (maybe another thread)
  stopGpuThread();
  if (software && !noted) {
    noted = true;
    process.stderr.write(SOFTWARE_NOTE);
  }
}

function failure(ready: ThreadReady & { ok: false }): ColaError {
  if (ready.noAdapter)
    return new ColaError(`the webgpu backend found no WebGPU adapter (Dawn found no usable Vulkan device); ${ADAPTER_HINT}`);
  return new ColaError(`the webgpu backend could not start: ${ready.error}`);
}

export interface WebGpuNodeOptions {
  /** storage of frozen weights kept on the GPU (webgpu/weightStorage.ts; default f32) */
  weightStorage?: WeightStorage;
}

/** A new webgpu backend on its own GPU thread and device (close() stops it). Throws
 * a ColaError saying how to fix it when the package or an adapter is missing. */
export function createWebGpuNodeBackend(opts: WebGpuNodeOptions = {}): WebGpuBackend {
  const missing = webgpuPackageMissing();
  if (missing) throw new ColaError(`the webgpu backend: ${missing}`);
  const t = openWithFallback(false);
  if (!t.ready.ok) throw failure(t.ready);
  if (software && !noted) {
    noted = true;
    process.stderr.write(SOFTWARE_NOTE);
  }
  try {
    // close() ends this channel only: the GPU thread serves the process's other backends
    return connectBackend({
      ready: t.ready,
      control: t.control,
      data: t.data,
      weightStorage: opts.weightStorage,
      defaultCompute: () => computeFor('bf16'),
      close: null,
    });
  } catch (err) {
    throw new ColaError(`the webgpu backend: ${(err as Error).message}`);
  }
}

let cached: WebGpuBackend | null = null;

/** The webgpu backend getBackend('webgpu') returns: one per process, made on first use. */
export function webgpuNodeBackend(): WebGpuBackend {
  cached ??= createWebGpuNodeBackend();
  return cached;
}

/** The adapter of the backend webgpuNodeBackend() made, or null before it is made. */
export function webgpuNodeAdapter(): string | null {
  return cached?.adapter ?? null;
}

/** What `cola doctor` shows: the adapter the webgpu backend would get, or why none. */
export interface WebGpuStatus {
  available: boolean;
  adapter: string | null;
  features: string[];
  /** SwiftShader picked by cola itself (no driver found, VK_ICD_FILENAMES unset) */
  software_fallback: boolean;
  vk_icd_filenames: string | null;
  /** why not available (with the fix) */
  reason: string | null;
}

/** Looks for an adapter the way webgpuNodeBackend() would (on the GPU thread, which
 * it starts, with the same SwiftShader fallback; well under a second), making no device. */
export function webgpuNodeStatus(): WebGpuStatus {
  const icd = (): string | null => process.env['VK_ICD_FILENAMES'] ?? null;
  const missing = webgpuPackageMissing();
  if (missing) return { available: false, adapter: null, features: [], software_fallback: false, vk_icd_filenames: icd(), reason: missing };
  const saved = process.env['VK_ICD_FILENAMES'];
  const t = openWithFallback(true);
  const status: WebGpuStatus = {
    available: t.ready.ok,
    adapter: t.ready.ok ? t.ready.adapter : null,
    features: t.ready.ok ? t.ready.features : [],
    software_fallback: software,
    vk_icd_filenames: icd(),
    reason: t.ready.ok ? null : failure(t.ready).message,
  };
  // a probe leaves the environment (which child processes inherit) as it found it;
  // the GPU thread, already on SwiftShader, serves the backend made later
  if (saved === undefined) delete process.env['VK_ICD_FILENAMES'];
  return status;
}
