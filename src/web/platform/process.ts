// The part of Node's `process` the library reads (env, pid, stderr, platform), for the
// browser bundle: installed as globalThis.process by esbuild `inject` (scripts/buildWeb.js).
// Warnings the library writes to stderr go to the console.

export const process = {
  env: {} as Record<string, string | undefined>,
  pid: 1,
  platform: 'browser',
  arch: 'wasm',
  argv: [] as string[],
  execPath: '',
  versions: {} as Record<string, string>,
  stderr: { write: (s: string) => (console.warn(s.replace(/\n$/, '')), true) },
  stdout: { write: (s: string) => (console.log(s.replace(/\n$/, '')), true) },
  once: () => process,
  on: () => process,
  removeListener: () => process,
  off: () => process,
  kill: (pid: number, signal?: string | number) => {
    // the only process is this one: run-folder locks ask whether their holder lives
    if (pid === 1 && (signal === 0 || signal === undefined)) return true;
    const e = new Error('ESRCH') as Error & { code: string };
    e.code = 'ESRCH';
    throw e;
  },
  cwd: () => '/',
  hrtime: Object.assign(
    (prev?: [number, number]) => {
      const t = performance.now();
      const s = Math.floor(t / 1000);
      const ns = Math.floor((t % 1000) * 1e6);
      return prev ? [s - prev[0], ns - prev[1]] : [s, ns];
    },
    { bigint: () => BigInt(Math.round(performance.now() * 1e6)) },
  ),
  memoryUsage: () => ({ rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 }),
};
