import * as fs from 'node:fs';
import * as path from 'node:path';
import { asUserFsError, writeTextAtomic } from '../io/fileIo.js';
import { EVENT_FILE, writeEventFile } from '../report/tensorboard.js';
import { metricsCsv, tensorboardScalars } from './metricsExport.js';

export type RunEvent = { event: string; [key: string]: unknown };

/** Opened without following a symlink: a link planted at metrics.jsonl would make a
 * resume truncate and append to a file outside the run folder (ELOOP instead). */
const NOFOLLOW = fs.constants.O_NOFOLLOW;

export interface MetricsLogOptions {
  /** also keep a TensorBoard event file (report/tensorboard.ts) beside the log */
  tensorboard?: boolean;
  /** write nothing, call no listener (ranks other than 0, issue 19) */
  silent?: boolean;
}

export const METRICS_CSV = 'metrics.csv';

/** metrics.jsonl: one JSON event per line, appended as training goes. A resume
 * truncates it to what the checkpoint had seen, so the file equals the
 * uninterrupted run's. `flush()` (at every checkpoint and at the end) rewrites
 * metrics.csv and the TensorBoard event file from it (metricsExport.ts). A silent log
 * (the ranks other than 0 of a data-parallel run, issue 19) writes nothing and calls
 * no listener. */
export class MetricsLog {
  readonly file: string;
  private readonly dir: string;

  constructor(
    runDir: string,
    private readonly listeners: ((e: RunEvent) => void)[] = [],
    private readonly opts: MetricsLogOptions = {},
  ) {
    this.dir = runDir;
    this.file = path.join(runDir, 'metrics.jsonl');
  }

  private get silent(): boolean {
    return this.opts.silent === true;
  }

  /** Rewrite metrics.csv (and the event file) from the log, each atomically. */
  flush(): void {
    if (this.silent) return;
    const events = this.read();
    writeTextAtomic(path.join(this.dir, METRICS_CSV), metricsCsv(events));
    if (this.opts.tensorboard) writeEventFile(path.join(this.dir, EVENT_FILE), tensorboardScalars(events));
  }

  /** The log's events; a cut last line (a kill mid-write) is skipped. */
  read(): RunEvent[] {
    if (!fs.lstatSync(this.file, { throwIfNoEntry: false })?.isFile()) return [];
    const out: RunEvent[] = [];
    for (const line of fs.readFileSync(this.file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as unknown;
        if (e !== null && typeof e === 'object' && typeof (e as RunEvent).event === 'string') out.push(e as RunEvent);
      } catch {
        // a cut line
      }
    }
    return out;
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
    this.flush();
  }

  reset(): void {
    if (this.silent) return;
    for (const f of [this.file, path.join(this.dir, METRICS_CSV), path.join(this.dir, EVENT_FILE)]) fs.rmSync(f, { force: true });
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
