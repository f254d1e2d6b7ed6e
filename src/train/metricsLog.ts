import * as fs from 'node:fs';
import * as path from 'node:path';
import { asUserFsError } from '../io/fileIo.js';

export type RunEvent = { event: string; [key: string]: unknown };

/** Opened without following a symlink: a link planted at metrics.jsonl would make a
 * resume truncate and append to a file outside the run folder (ELOOP instead). */
const NOFOLLOW = fs.constants.O_NOFOLLOW;

/** metrics.jsonl: one JSON event per line, appended as training goes. A resume
 * truncates it to what the checkpoint had seen, so the file equals the
 * uninterrupted run's. A silent log (the ranks other than 0 of a data-parallel run,
 * issue 19) writes nothing and calls no listener. */
export class MetricsLog {
  readonly file: string;

  constructor(
    runDir: string,
    private readonly listeners: ((e: RunEvent) => void)[] = [],
    private readonly silent = false,
  ) {
    this.file = path.join(runDir, 'metrics.jsonl');
  }

  write(e: RunEvent): void {
    if (this.silent) return;
    this.withFd(fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, (fd) => fs.writeSync(fd, JSON.stringify(e) + '\n'));
    for (const l of this.listeners) l(e);
  }

  bytes(): number {
    const st = fs.lstatSync(this.file, { throwIfNoEntry: false });
    return st?.isFile() ? st.size : 0;
  }

  truncate(bytes: number): void {
    if (this.silent) return;
    if (fs.lstatSync(this.file, { throwIfNoEntry: false })) this.withFd(fs.constants.O_WRONLY, (fd) => fs.ftruncateSync(fd, bytes));
  }

  reset(): void {
    if (this.silent) return;
    fs.rmSync(this.file, { force: true });
  }

  private withFd(flags: number, fn: (fd: number) => void): void {
    let fd: number;
    try {
      fd = fs.openSync(this.file, flags | NOFOLLOW, 0o644);
    } catch (e) {
      throw asUserFsError(e, this.file);
    }
    try {
      fn(fd);
    } catch (e) {
      throw asUserFsError(e, this.file);
    } finally {
      fs.closeSync(fd);
    }
  }
}
