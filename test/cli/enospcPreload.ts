// Loaded with `node --import` into a cola process (and its worker threads) by
// test/cli/runFolder.test.ts: writes to any file whose path contains $COLA_TEST_ENOSPC fail
// as on a full disk, with the error Node's fs gives (code ENOSPC, syscall write, no path).
import * as fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';

const needle = process.env['COLA_TEST_ENOSPC'];
const cjsFs = createRequire(import.meta.url)('node:fs') as typeof fs;
if (needle) {
  const full = new Set<number>();
  const open = cjsFs.openSync;
  const write = cjsFs.writeSync;
  cjsFs.openSync = ((p: fs.PathLike, ...rest: unknown[]) => {
    const fd = (open as (...a: unknown[]) => number)(p, ...rest);
    if (String(p).includes(needle)) full.add(fd);
    else full.delete(fd);
    return fd;
  }) as typeof fs.openSync;
  cjsFs.writeSync = ((fd: number, ...rest: unknown[]) => {
    if (full.has(fd))
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { errno: -28, code: 'ENOSPC', syscall: 'write' });
    return (write as (...a: unknown[]) => number)(fd, ...rest);
  }) as typeof fs.writeSync;
  syncBuiltinESMExports();
}
