// The machine this process runs on (issue 15): CPU features, the cores it may
// use, and memory. Read once at start; `cola doctor` prints it, `cola train` one
// line of it, and backend/computePath.ts decides the compute path from it.
//
// Cores: `nproc`/os.cpus() count the host's CPUs, but a process may be pinned to
// fewer (sched_getaffinity, read here from /proc/self/status) and a container may
// be given a share of them (cgroup v2 cpu.max quota / period): OpenMP's default
// (the affinity mask) then starts more threads than there are cores to run them.

import * as fs from 'node:fs';
import * as os from 'node:os';
import { hasNativeBf16, type CpuCaps, type WidenedProductKernel } from './computePath.js';
import type { NativeCpuInfo } from './native/addon.js';

// The addon's view of the machine (oneDNN ISA, cpuid), registered by native/index.ts when
// it loads; this file does not import the addon so the addon loader can use it (no loop).
let nativeCpuInfo: () => NativeCpuInfo | null = () => null;

/** Called by the native backend's loader. */
export function setNativeCpuInfo(provider: () => NativeCpuInfo | null): void {
  nativeCpuInfo = provider;
}

export interface MachineInfo {
  cpuModel: string;
  caps: CpuCaps;
  /** where the flags came from */
  capsSource: '/proc/cpuinfo' | 'cpuid' | 'none';
  /** oneDNN's effective ISA (what its kernels use), null without the addon */
  onednnIsa: string | null;
  onednnVersion: string | null;
  /** how a bf16 product runs: on bf16 hardware, emulated by oneDNN (AVX-512 without
   * bf16), or as f32 on bf16-rounded operands (oneDNN has no bf16 matmul: AVX2-only CPUs);
   * null without the addon */
  bf16Products: Bf16Products | null;
  /** the kernel of an f32 product with a bf16 weight, as the addon chose it (computePath.ts
   * widenedProductKernel is the rule); null without the addon */
  widenedProducts: WidenedProductKernel | null;
  cores: {
    /** CPUs the host has online */
    online: number;
    /** CPUs this process may run on (affinity mask) */
    affinity: number;
    /** cgroup cpu.max quota in CPUs (fractional), null when unlimited or unknown */
    cgroupQuota: number | null;
    /** what a compute thread pool should use: min(affinity, ceil(quota)) */
    usable: number;
  };
  memory: {
    totalBytes: number;
    availableBytes: number;
    /** cgroup memory.max, null when unlimited or unknown */
    cgroupLimitBytes: number | null;
  };
}

/** CPU flags from the text of /proc/cpuinfo (first processor), or null when none are listed. */
export function parseCpuFlags(cpuinfo: string): CpuCaps | null {
  const line = cpuinfo.split('\n').find((l) => /^flags\s*:/.test(l));
  if (!line) return null;
  const flags = new Set(
    line
      .slice(line.indexOf(':') + 1)
      .trim()
      .split(/\s+/),
  );
  return {
    avx2: flags.has('avx2'),
    avx512f: flags.has('avx512f'),
    avx512Vnni: flags.has('avx512_vnni'),
    avx512Bf16: flags.has('avx512_bf16'),
    amxBf16: flags.has('amx_bf16'),
    known: true,
  };
}

/** The number of CPUs in a list such as "0-3,8,10-11" (Cpus_allowed_list). */
export function countCpuList(list: string): number {
  let n = 0;
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const [lo, hi] = part.split('-').map(Number) as [number, number | undefined];
    n += hi === undefined ? 1 : hi - lo + 1;
  }
  return n;
}

/** cgroup v2 cpu.max ("max 100000" or "150000 100000") as CPUs, null when unlimited. */
export function parseCpuMax(text: string): number | null {
  const [quota, period] = text.trim().split(/\s+/);
  if (!quota || quota === 'max' || !period) return null;
  const q = Number(quota) / Number(period);
  return Number.isFinite(q) && q > 0 ? q : null;
}

/** Threads for a compute pool: the affinity count, capped by the cgroup quota (rounded up, at least 1). */
export function usableCores(affinity: number, cgroupQuota: number | null): number {
  const cap = cgroupQuota === null ? affinity : Math.ceil(cgroupQuota);
  return Math.max(1, Math.min(affinity, cap));
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** This process's cgroup v2 folder (from /proc/self/cgroup "0::/path"). */
function cgroupDir(): string | null {
  const line = readText('/proc/self/cgroup')
    ?.split('\n')
    .find((l) => l.startsWith('0::'));
  return line ? `/sys/fs/cgroup${line.slice(3).trim()}`.replace(/\/$/, '') : null;
}

/** The smallest limit along the cgroup path (a parent's quota binds its children). */
function cgroupLimit(file: string, parse: (text: string) => number | null): number | null {
  let dir = cgroupDir();
  let best: number | null = null;
  while (dir && dir.startsWith('/sys/fs/cgroup')) {
    const text = readText(`${dir}/${file}`);
    const v = text === null ? null : parse(text);
    if (v !== null) best = best === null ? v : Math.min(best, v);
    if (dir === '/sys/fs/cgroup') break;
    dir = dir.slice(0, dir.lastIndexOf('/')) || '/sys/fs/cgroup';
  }
  return best;
}

function parseBytes(text: string): number | null {
  const t = text.trim();
  return t === 'max' || t === '' || !Number.isFinite(Number(t)) ? null : Number(t);
}

/** The CPU's capabilities alone (no addon needed): /proc/cpuinfo, else cpuid through the addon. */
export function detectCaps(): { caps: CpuCaps; source: MachineInfo['capsSource'] } {
  const fromProc = parseCpuFlags(readText('/proc/cpuinfo') ?? '');
  if (fromProc) return { caps: fromProc, source: '/proc/cpuinfo' };
  const native = nativeCpuInfo();
  if (native) return { caps: { ...native.cpuid, known: true }, source: 'cpuid' };
  return { caps: { avx2: false, avx512f: false, avx512Vnni: false, avx512Bf16: false, amxBf16: false, known: false }, source: 'none' };
}

let cachedCaps: CpuCaps | undefined;

/** detectCaps().caps, read once per process. */
export function machineCaps(): CpuCaps {
  return (cachedCaps ??= detectCaps().caps);
}

/** Cores this process may use (affinity and cgroup quota), without the addon. */
export function detectCores(): MachineInfo['cores'] {
  const online = os.cpus().length || 1;
  const allowed = /Cpus_allowed_list:\s*(\S+)/.exec(readText('/proc/self/status') ?? '')?.[1];
  const affinity = allowed ? countCpuList(allowed) : (os.availableParallelism?.() ?? online);
  const cgroupQuota = cgroupLimit('cpu.max', parseCpuMax);
  return { online, affinity, cgroupQuota, usable: usableCores(affinity, cgroupQuota) };
}

/** Everything above, plus oneDNN's view when the addon is built. */
export function detectMachine(): MachineInfo {
  const { caps, source } = detectCaps();
  const native = nativeCpuInfo();
  const model = /model name\s*:\s*(.*)/.exec(readText('/proc/cpuinfo') ?? '')?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const memAvailable = /MemAvailable:\s*(\d+) kB/.exec(readText('/proc/meminfo') ?? '')?.[1];
  return {
    cpuModel: model.trim(),
    caps,
    capsSource: source,
    onednnIsa: native?.onednnIsa ?? null,
    onednnVersion: native?.onednnVersion ?? null,
    bf16Products: native ? bf16ProductsOf(caps, native.bf16Matmul) : null,
    widenedProducts: native ? (native.gemmAvx2 ? 'cola-avx2' : 'onednn') : null,
    cores: detectCores(),
    memory: {
      totalBytes: os.totalmem(),
      availableBytes: memAvailable ? Number(memAvailable) * 1024 : os.freemem(),
      cgroupLimitBytes: cgroupLimit('memory.max', parseBytes),
    },
  };
}

export type Bf16Products = 'hardware' | 'onednn-emulated' | 'f32-on-rounded';

/** How oneDNN runs a bf16 product on this CPU (see MachineInfo.bf16Products). */
export function bf16ProductsOf(caps: CpuCaps, onednnHasBf16: boolean): Bf16Products {
  if (!onednnHasBf16) return 'f32-on-rounded';
  return hasNativeBf16(caps) ? 'hardware' : 'onednn-emulated';
}

/** One line for the start of a run: CPU class, bf16 hardware, threads. */
export function machineLine(m: MachineInfo, threads: number): string {
  const bf16 = hasNativeBf16(m.caps) ? (m.caps.amxBf16 ? 'AMX-BF16' : 'AVX512_BF16') : 'no bf16 hardware';
  const quota = m.cores.cgroupQuota === null ? '' : `, cgroup quota ${m.cores.cgroupQuota.toFixed(1)}`;
  const isa = m.onednnIsa ? `oneDNN ${m.onednnIsa}, ` : '';
  return `${m.cpuModel}: ${isa}${bf16}; ${threads} threads (${m.cores.affinity} cores allowed${quota})`;
}
