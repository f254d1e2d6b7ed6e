// The native backend: a thin forwarding layer over the C++ addon on oneDNN
// (native/*.cc). No JavaScript loops over elements here; the C++ side checks
// every length so a wrong call throws instead of reading out of bounds.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend, DType, FloatArray, Storage } from '../backend.js';
import { checkBias } from '../reference/matmul.js';
import { checkQuantize, checkQuantMatmul } from '../quant/checks.js';
import { checkQuantizeOptions, groupSizeOf, withDoubleQuant } from '../quant/codec.js';
import { rowBytes, scaleCount, type QuantWeight } from '../quant/format.js';
import { applyOmpDefaults, computeFor } from '../compute.js';
import type { NativeAddon, NativeCpuInfo } from './addon.js';
import { setNativeCpuInfo } from '../machine.js';

const BYTES: Record<DType, number> = { f32: 4, bf16: 2, i32: 4 };

/** The repository root: the nearest ancestor of this module holding package.json
 * (this file runs from dist/src/backend/native/ or src/backend/native/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return dir;
}

let loadError: string | null = null;

/** Why the addon could not be loaded (null when it loaded or was never tried). */
export function nativeLoadError(): string | null {
  return loadError;
}

/** The addon's file: build/Release/cola_native.node as `npm run build:native`
 * (node-gyp) writes it, else a prebuilt binary shipped in the package under
 * prebuilds/<platform>-<arch>/ (the node-gyp-build convention, issue 16), else null. */
export function addonPath(root: string): string | null {
  const built = join(root, 'build', 'Release', 'cola_native.node');
  if (existsSync(built)) return built;
  try {
    const gypBuild = createRequire(import.meta.url)('node-gyp-build') as { path(dir: string): string };
    return gypBuild.path(root);
  } catch {
    return null;
  }
}

function loadAddon(): NativeAddon | null {
  const root = packageRoot();
  const path = addonPath(root);
  if (path === null) {
    loadError = `no native addon: neither ${join(root, 'build', 'Release', 'cola_native.node')} nor a prebuilt binary for ${process.platform}-${process.arch} under ${join(root, 'prebuilds')}`;
    return null;
  }
  try {
    // libgomp reads its thread count and wait policy once, as it loads with the addon.
    applyOmpDefaults();
    return createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    // Present but unloadable: typically libdnnl.so missing at run time.
    loadError = `${path} failed to load: ${(err as Error).message}`;
    return null;
  }
}

/** Exports of the addon that are not primitives (native/alloc.cc, matmul.cc). */
type AddonHelper = 'alignPad' | 'packedBytes' | 'packB' | 'cpuInfo' | 'setThreads';
const ADDON_HELPERS = new Set<string>(['alignPad', 'packedBytes', 'packB', 'cpuInfo', 'setThreads'] satisfies AddonHelper[]);

/** A Backend forwarding every primitive to `addon`, which takes the contract's own
 * arguments; only storage, and the checks the addon cannot make from the arrays
 * alone, are written here. */
function createNativeBackend(addon: NativeAddon): Backend {
  const primitives = Object.fromEntries(Object.entries(addon).filter(([key]) => !ADDON_HELPERS.has(key))) as Omit<NativeAddon, AddonHelper>;
  return {
    ...primitives,
    name: 'native',
    alloc: (dtype, size) => alignedStorage(addon, dtype, size, true),
    empty: (dtype, size) => alignedStorage(addon, dtype, size, false),
    castToBf16: (src, dst) => {
      if (src.length !== dst.length)
        throw new RangeError(`castToBf16: src has ${src.length} elements but dst has ${dst.length}; pass arrays of equal length`);
      addon.castToBf16(src, dst);
    },
    castToF32: (src, dst) => {
      if (src.length !== dst.length)
        throw new RangeError(`castToF32: src has ${src.length} elements but dst has ${dst.length}; pass arrays of equal length`);
      addon.castToF32(src, dst);
    },
    matmul(args) {
      checkDtype(args.a, args.aDtype, 'a');
      checkDtype(args.b, args.bDtype, 'b');
      // bPacked: b's dtype, or f32 (b widened) for an f32 product
      if (args.bPacked) checkDtype(args.bPacked, args.bPacked instanceof Float32Array ? 'f32' : args.bDtype, 'bPacked');
      checkBias(args);
      // The process's compute path where the caller left it open (MatmulArgs.compute).
      if (args.compute === undefined && (args.aDtype === 'bf16' || args.bDtype === 'bf16')) args = { ...args, compute: computeFor('bf16') };
      addon.matmul(args);
    },
    quantMatmul(args) {
      checkQuantMatmul(args);
      addon.quantMatmul(args);
    },
    quantize(args) {
      checkQuantize(args);
      const { values, rows, cols, format } = args;
      checkQuantizeOptions(format, args);
      const group = groupSizeOf(format, args);
      const data = new Uint8Array(rows * rowBytes(format, cols, group));
      const n = scaleCount(format, rows, cols, group);
      const scales = n ? new Float32Array(n) : null;
      addon.quantizeInto({ values, rows, cols, format, groupSize: group ?? 0, data, scales });
      const w: QuantWeight =
        group === undefined ? { format, rows, cols, data, scales } : { format, rows, cols, groupSize: group, data, scales };
      return args.doubleQuant ? withDoubleQuant(w) : w;
    },
    packMatmulB(b, k, n, transB, as) {
      const bf16 = (as ?? (b instanceof Uint16Array ? 'bf16' : 'f32')) === 'bf16';
      if (bf16 && !(b instanceof Uint16Array)) throw new TypeError('packMatmulB: an f32 b packs only as f32');
      const bytes = addon.packedBytes(k, n, bf16);
      const out = alignedStorage(addon, bf16 ? 'bf16' : 'f32', Math.ceil(bytes / (bf16 ? 2 : 4)), false) as FloatArray;
      addon.packB(b, out, k, n, transB);
      return out;
    },
  };
}

/** Storage starting on a 64-byte boundary, in a V8-owned ArrayBuffer over-allocated
 * by 64 bytes, zero-filled or not (allocUnsafeSlow: unpooled, uninitialised). V8
 * frees it when it dies, during GC; the addon's external buffers are freed only
 * once the event loop turns, which a synchronous training loop never lets happen
 * (native/alloc.cc). */
function alignedStorage(addon: NativeAddon, dtype: DType, size: number, zeroed: boolean): Storage {
  const bytes = size * BYTES[dtype] + 64;
  const buffer = zeroed ? new ArrayBuffer(bytes) : (Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer);
  const pad = addon.alignPad(buffer);
  if (dtype === 'f32') return new Float32Array(buffer, pad, size);
  if (dtype === 'bf16') return new Uint16Array(buffer, pad, size);
  return new Int32Array(buffer, pad, size);
}

/** The declared dtype must match the storage kind (the addon infers it from the array). */
function checkDtype(x: FloatArray, dtype: 'f32' | 'bf16', name: string): void {
  const ok = dtype === 'bf16' ? x instanceof Uint16Array : x instanceof Float32Array;
  if (!ok) {
    const want = dtype === 'bf16' ? 'a Uint16Array of bf16 bits' : 'a Float32Array';
    throw new TypeError(`matmul: ${name}Dtype is ${dtype}, so ${name} must be ${want}`);
  }
}

let cached: Backend | null | undefined;

/** The native backend, or null when the addon is not built or cannot load
 * (see nativeLoadError()). Loads once. */
export function loadNativeBackend(): Backend | null {
  if (cached === undefined) {
    const addon = loadAddon();
    cachedAddon = addon;
    cached = addon ? createNativeBackend(addon) : null;
  }
  return cached;
}

let cachedAddon: NativeAddon | null | undefined;

/** The addon's machine facts (oneDNN ISA, OpenMP threads, cpuid), or null when it is not built. */
export function nativeCpuInfo(): NativeCpuInfo | null {
  if (loadNativeBackend() === null) return null;
  return cachedAddon?.cpuInfo() ?? null;
}

/** Sets OpenMP's thread count on the calling thread (no-op without the addon). */
export function setNativeThreads(n: number): void {
  if (loadNativeBackend() !== null) cachedAddon?.setThreads(n);
}

setNativeCpuInfo(nativeCpuInfo);
