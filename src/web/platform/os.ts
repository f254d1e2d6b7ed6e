// node:os for the browser bundle: what backend/machine.ts, io/memory.ts and
// io/fileIo.ts ask (the page has no /proc; memory figures are the browser's guess).

const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
const deviceGiB = (globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory ?? 4;

export function cpus(): { model: string }[] {
  return Array.from({ length: cores }, () => ({ model: 'browser' }));
}
export function availableParallelism(): number {
  return cores;
}
export function totalmem(): number {
  return deviceGiB * 2 ** 30;
}
export function freemem(): number {
  return totalmem();
}
export function endianness(): 'LE' | 'BE' {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 'LE' : 'BE';
}
export function tmpdir(): string {
  return '/tmp';
}
export function platform(): string {
  return 'browser';
}
export const EOL = '\n';

export default { cpus, availableParallelism, totalmem, freemem, endianness, tmpdir, platform, EOL };
