/** A run folder (`cola train --out DIR`) and the rules for writing into it:
 * - never into a folder that holds a model or another command's output (checkOutputDir);
 * - one process at a time (cola.lock, created with O_EXCL and holding the pid);
 * - never through a symlink: a link inside the folder would send writes outside it;
 * - temp files of dead processes (a kill during an atomic write) are removed on open.
 * docs/ROBUSTNESS.md states these promises and names their tests. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../errors.js';

export const LOCK_FILE = 'cola.lock';

/** Files that say a folder holds a model, an adapter or a tokenizer: never a run's own top level. */
const MODEL_MARKERS = [
  'model.safetensors',
  'model.safetensors.index.json',
  'pytorch_model.bin',
  'adapter_config.json',
  'adapter_model.safetensors',
  'tokenizer.json',
  'tokenizer.model',
];

/** `cola experiment --out`'s own file: its folder holds cells, never a run at the top. */
const EXPERIMENT_MARKER = 'experiment.json';

/** What `dir` holds, for refusing to write over it. */
export type FolderKind = 'missing' | 'file' | 'empty' | 'run' | 'model' | 'experiment' | 'other';

export function folderKind(dir: string): FolderKind {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    return 'missing';
  }
  if (!st.isDirectory()) return 'file';
  const names = fs.readdirSync(dir);
  if (names.length === 0) return 'empty';
  if (names.some((n) => MODEL_MARKERS.includes(n) || /^model-\d+-of-\d+\.safetensors$/.test(n))) return 'model';
  if (names.includes(EXPERIMENT_MARKER)) return 'experiment';
  if (names.includes('config.json')) {
    let config: unknown;
    try {
      config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    } catch {
      return 'other';
    }
    // trainRun's config.json has the run config under `run`; a model's has model_type
    const run = typeof config === 'object' && config !== null && 'run' in config && !('model_type' in config);
    return run ? 'run' : 'other';
  }
  if (names.some((n) => ['metrics.jsonl', 'checkpoint', 'checkpoint.old', LOCK_FILE].includes(n))) return 'run';
  return 'other';
}

/** Refuse an output folder a command must not write into: a file, a model folder, or (unless
 * `allowRun`) a run folder. `what` names the flag or argument, e.g. "--out". An 'other'
 * folder without a config.json (say, an experiment cell's folder) is accepted. */
export function checkOutputDir(dir: string, what: string, opts: { allowRun: boolean }): void {
  const kind = folderKind(dir);
  if (kind === 'file') throw new ColaError(`${what} ${dir}: is a file, expected a folder to write to; choose another ${what}`);
  if (kind === 'model')
    throw new ColaError(
      `${what} ${dir}: the folder holds a model, adapter or tokenizer (${listed(dir)}); cola will not write over it, choose an empty or new folder`,
    );
  if (kind === 'experiment')
    throw new ColaError(`${what} ${dir}: the folder holds a cola experiment (${listed(dir)}); choose an empty or new folder`);
  if (kind === 'run' && !opts.allowRun)
    throw new ColaError(`${what} ${dir}: the folder holds a cola run (${listed(dir)}); choose an empty or new folder`);
  if (kind === 'other' && fs.existsSync(path.join(dir, 'config.json')))
    throw new ColaError(
      `${what} ${dir}: the folder holds a config.json that is not a cola run's (${listed(dir)}); cola will not write over it, choose an empty or new folder`,
    );
}

function listed(dir: string): string {
  const names = fs.readdirSync(dir).sort();
  return names.slice(0, 6).join(', ') + (names.length > 6 ? `, ... (${names.length} entries)` : '');
}

/** Whether process `pid` is alive on this machine (EPERM: alive, someone else's). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Exclusive lock on a run folder: `cola.lock` created with O_EXCL, holding the pid. A lock
 * whose pid is dead (a kill -9) is stale and taken over, and so is one whose pid now belongs
 * to a process that started after the lock was written (the pid was reused: after a reboot,
 * or in a container where every run is pid 1). Returns the release function,
 * which is also run if the thread exits first. */
export function lockRunFolder(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o644);
      try {
        fs.writeSync(fd, `${process.pid}\n`);
      } finally {
        fs.closeSync(fd);
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const holder = lockHolder(file);
      if (holder !== null && pidAlive(holder) && !startedAfter(holder, file))
        throw new ColaError(
          `${dir}: the run folder is in use by cola process ${holder}${holder === process.pid ? ' (this one)' : ''}; wait for it to finish or stop it, or choose another --out (if process ${holder} is not cola, delete ${file})`,
        );
      fs.rmSync(file, { force: true }); // stale: its process is gone (or the pid is another's now)
    }
  }
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.removeListener('exit', release);
    if (lockHolder(file) === process.pid) fs.rmSync(file, { force: true });
  };
  process.once('exit', release);
  return release;
}

/** Slack between the kernel's start time (whole seconds of boot time plus 10 ms ticks) and a
 * file's mtime. */
const START_SLACK_MS = 2000;

/** Whether process `pid` started after `file` was last written: then it cannot be the process
 * that wrote it. False where /proc cannot tell (not Linux). */
function startedAfter(pid: number, file: string): boolean {
  const started = processStartMs(pid);
  if (started === null) return false;
  try {
    return started > fs.statSync(file).mtimeMs + START_SLACK_MS;
  } catch {
    return false;
  }
}

/** When process `pid` started (ms since the epoch), from /proc: field 22 of /proc/PID/stat
 * (clock ticks since boot; USER_HZ is 100 on Linux) plus btime of /proc/stat. */
export function processStartMs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22 overall; fields[0] is field 3
    const btime = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'));
    if (!btime || !Number.isFinite(ticks)) return null;
    return Number(btime[1]) * 1000 + ticks * 10;
  } catch {
    return null;
  }
}

function lockHolder(file: string): number | null {
  try {
    const st = fs.lstatSync(file);
    if (!st.isFile() || st.size > 64) return null;
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Deepest folder level checked for symlinks: a run folder is adapter/, best/adapter/,
 * links/link-j/, checkpoint/ and files. */
const MAX_WALK_DEPTH = 4;

/** Throw naming the first symlink found in the run folder (the folder itself may be one:
 * the user chose it). Writing through a link inside it would truncate or replace a file
 * outside --out. */
export function assertNoSymlinks(dir: string): void {
  const walk = (d: string, depth: number): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isSymbolicLink())
        throw new ColaError(
          `${p}: is a symbolic link inside the run folder ${dir}; cola never writes through links (it would write outside the folder). Remove the link or choose another --out`,
        );
      if (e.isDirectory() && depth < MAX_WALK_DEPTH) walk(p, depth + 1);
    }
  };
  walk(dir, 0);
}

/** writeFileAtomic's temp names: `.<name>.<pid>.<ms>.tmp`; export's copies: `<name>.tmp-<pid>`. */
const TMP_NAME = /^\..+\.(\d+)\.\d+\.tmp$|^.+\.tmp-(\d+)$/;

/** Remove temp files left by killed processes (their pid is dead), anywhere in the folder. */
export function removeStaleTempFiles(dir: string): string[] {
  const removed: string[] = [];
  const walk = (d: string, depth: number): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && depth < MAX_WALK_DEPTH) walk(p, depth + 1);
      if (!e.isFile()) continue;
      const m = TMP_NAME.exec(e.name);
      if (!m) continue;
      const pid = Number(m[1] ?? m[2]);
      if (pid !== process.pid && !pidAlive(pid)) {
        fs.rmSync(p, { force: true });
        removed.push(p);
      }
    }
  };
  walk(dir, 0);
  return removed;
}

/** An open run folder: locked, checked for links, cleaned of dead temp files. */
export interface RunFolder {
  dir: string;
  /** the folder did not exist before this process opened it */
  created: boolean;
  release: () => void;
}

/** Open `dir` for a run: refuse a file, a model, another command's output or (without
 * `resume`) a run that has a checkpoint; then create, lock, check and clean it. */
export function openRunFolder(dir: string, resume: boolean): RunFolder {
  checkOutputDir(dir, '--out', { allowRun: true });
  if (!resume && (fs.existsSync(path.join(dir, 'checkpoint')) || fs.existsSync(path.join(dir, 'checkpoint.old')))) {
    throw new ColaError(`${dir} already holds a run; pass --resume to continue it, or choose another --out`);
  }
  const created = !fs.existsSync(dir);
  fs.mkdirSync(dir, { recursive: true });
  const release = lockRunFolder(dir);
  try {
    assertNoSymlinks(dir);
    removeStaleTempFiles(dir);
  } catch (e) {
    release();
    throw e;
  }
  return { dir, created, release };
}
