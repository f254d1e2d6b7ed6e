import * as fs from 'node:fs';
import * as path from 'node:path';

export type RunEvent = { event: string; [key: string]: unknown };

/** metrics.jsonl: one JSON event per line, appended as training goes. A resume
 * truncates it to what the checkpoint had seen, so the file equals the
 * uninterrupted run's. */
export class MetricsLog {
  readonly file: string;

  constructor(
    runDir: string,
    private readonly listeners: ((e: RunEvent) => void)[] = [],
  ) {
    this.file = path.join(runDir, 'metrics.jsonl');
  }

  write(e: RunEvent): void {
    fs.appendFileSync(this.file, JSON.stringify(e) + '\n');
    for (const l of this.listeners) l(e);
  }

  bytes(): number {
    return fs.existsSync(this.file) ? fs.statSync(this.file).size : 0;
  }

  truncate(bytes: number): void {
    if (fs.existsSync(this.file)) fs.truncateSync(this.file, bytes);
  }

  reset(): void {
    fs.rmSync(this.file, { force: true });
  }
}
