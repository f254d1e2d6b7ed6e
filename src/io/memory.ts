/** How much memory a load may use, checked before allocating what an untrusted header
 * asks for: a sparse safetensors file of a few KB can declare 140 GB of tensors, and
 * allocating first ends in V8's "Array buffer allocation failed" (or the OOM killer). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { ColaError } from '../errors.js';

/** Memory free for new allocations: the OS's available memory (MemAvailable on Linux,
 * which counts reclaimable page cache), lowered to the cgroup's headroom when the
 * process runs in a container with a memory limit. */
function availableMemory(): number {
  let avail = os.freemem();
  const headroom = cgroupHeadroom();
  if (headroom !== null) avail = Math.min(avail, headroom);
  return Math.max(0, avail);
}

/** cgroup v2 memory.max - memory.current, or v1's limit - usage; null when unlimited. */
function cgroupHeadroom(): number | null {
  const pairs: [string, string][] = [
    ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory.current'],
    ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory/memory.usage_in_bytes'],
  ];
  for (const [limitFile, usageFile] of pairs) {
    try {
      const limit = Number(fs.readFileSync(limitFile, 'utf8').trim());
      const usage = Number(fs.readFileSync(usageFile, 'utf8').trim());
      // 'max' reads as NaN; v1 reports "unlimited" as a huge number
      if (Number.isFinite(limit) && Number.isFinite(usage) && limit < 2 ** 60) return limit - usage;
    } catch {
      // not this cgroup version, or no cgroup: try the next
    }
  }
  return null;
}

export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${n} bytes`;
}

/** Throw before allocating `bytes` for `what` when they exceed `maxMemory` (default: the
 * memory available now). `fix` says what the user can do instead. */
export function checkMemory(bytes: number, what: string, maxMemory?: number, fix = ''): void {
  const limit = maxMemory ?? availableMemory();
  if (bytes <= limit) return;
  const source = maxMemory !== undefined ? 'the --max-memory limit' : 'the memory available now';
  throw new ColaError(
    `${what} needs ${formatBytes(bytes)} of memory, more than ${source} (${formatBytes(limit)})` +
      `${fix ? `; ${fix}` : ''}. If the file is genuine, raise --max-memory or free memory; a header declaring far more than the file's size is a crafted or corrupt file.`,
  );
}
