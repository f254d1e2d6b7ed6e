/** Small helpers for positioned reads and atomic writes, shared by every reader and
 * writer in src/io. Reads go straight into the caller's typed array, so a multi-GB
 * checkpoint is read one tensor at a time and never held twice. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ColaError } from '../errors.js';

/** Every format here is little-endian; reading bytes straight into typed arrays relies on
 * the host being little-endian too (x86, ARM, RISC-V as deployed). */
export function assertLittleEndianHost(): void {
  if (os.endianness() !== 'LE') {
    throw new ColaError('cola reads checkpoints into typed arrays and needs a little-endian machine');
  }
}

/** readSync caps one call at 2 GiB; loop so huge tensors still work. */
const MAX_READ_CHUNK = 1 << 30;

/** Fill `dest` with the bytes at [offset, offset + dest.byteLength) of `fd`; a short
 * read (file shrank under us) is an error naming the file. */
export function readExactly(fd: number, dest: ArrayBufferView, offset: number, file: string): void {
  const bytes = new Uint8Array(dest.buffer, dest.byteOffset, dest.byteLength);
  let done = 0;
  while (done < bytes.length) {
    const want = Math.min(MAX_READ_CHUNK, bytes.length - done);
    const got = fs.readSync(fd, bytes, done, want, offset + done);
    if (got === 0) {
      throw new ColaError(
        `${file}: unexpected end of file at byte ${offset + done} (needed ${bytes.length} bytes from ${offset}); the file is truncated, re-download or re-export it`,
      );
    }
    done += got;
  }
}

/** Open `file`, run `fn` with its descriptor, and always close it. */
export function withFd<T>(file: string, fn: (fd: number) => T): T {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new ColaError(`${file}: cannot open for reading (${(e as Error).message})`);
  }
  try {
    return fn(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Size of a regular file, or a ColaError saying why it cannot be used. */
export function fileSize(file: string): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new ColaError(`${file}: not found or not readable (${(e as Error).message})`);
  }
  if (!st.isFile()) throw new ColaError(`${file}: expected a regular file`);
  return st.size;
}

/** Read a small text file (JSON configs); `maxBytes` bounds untrusted input. */
export function readTextFile(file: string, maxBytes: number): string {
  const size = fileSize(file);
  if (size > maxBytes) {
    throw new ColaError(`${file}: ${size} bytes is larger than the ${maxBytes}-byte limit for this kind of file`);
  }
  return fs.readFileSync(file, 'utf8');
}

/** Deepest nesting of arrays/objects in JSON `text`, stopping once over `limit`. */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 34; i++) if (text.charCodeAt(i) === 92 /* \ */) i++;
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 93 || c === 125) depth--;
  }
  return max;
}

/** Config files nest a few levels; JSON.parse copes with any depth, but JSON.stringify
 * and every recursive reader of the result overflow the stack near 10^4. */
export const MAX_CONFIG_DEPTH = 256;

/** Parse a JSON file that must hold an object. */
export function readJsonObject(file: string, maxBytes = 64 << 20): Record<string, unknown> {
  const text = readTextFile(file, maxBytes);
  if (jsonDepth(text, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH) {
    throw new ColaError(`${file}: JSON nested more than ${MAX_CONFIG_DEPTH} levels deep; the file is corrupt or crafted`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ColaError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ColaError(`${file}: expected a JSON object at the top level`);
  }
  return value as Record<string, unknown>;
}

/** Write a file through a temp file in the same directory and a rename, so readers never
 * see a half-written file and a crash leaves the old file intact. `write` gets the fd.
 * The temp file is created exclusively (O_EXCL never follows a planted link); its name
 * carries the pid so a later open of the folder can remove it if this process is killed
 * (runFolder.ts removeStaleTempFiles). A full disk or a read-only folder is a ColaError. */
export function writeFileAtomic(file: string, write: (fd: number) => void): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'wx');
  } catch (e) {
    throw asUserFsError(e, file);
  }
  try {
    write(fd);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw asUserFsError(e, file);
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw asUserFsError(e, file);
  }
}

/** File-system failures the user causes or must fix (a full disk, a quota, permissions, a
 * read-only mount, a symlink where cola refuses one), by errno code. */
const USER_FS_ERRORS: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ELOOP: 'the path is a symbolic link, which cola does not follow when writing',
};

/** The one place that turns such a Node fs error into a ColaError naming the file; any
 * other error is returned unchanged. Every cola write goes to a temp file that is renamed
 * into place, so what was written before (a run's last checkpoint) is intact. */
export function asUserFsError(e: unknown, file?: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (e instanceof ColaError || !(e instanceof Error) || !err.code || !(err.code in USER_FS_ERRORS)) return e;
  const where = file ?? err.path ?? '(unknown file)';
  const fix =
    err.code === 'ENOSPC' || err.code === 'EDQUOT'
      ? 'free some space and rerun (cola train: add --resume to continue from the last checkpoint)'
      : err.code === 'ELOOP'
        ? 'replace the link by a real file or folder, or choose another output folder'
        : 'check the permissions of the folder, or choose another output folder';
  return new ColaError(
    `${where}: cannot ${err.syscall ?? 'write'}: ${USER_FS_ERRORS[err.code]} (${err.code}). ` +
      `Files written before are intact (cola writes to a temp file and renames it), so is a run's last checkpoint; ${fix}`,
  );
}

/** Write all of `data` at the fd's current position. */
export function writeAll(fd: number, data: ArrayBufferView): void {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let done = 0;
  while (done < bytes.length) {
    done += fs.writeSync(fd, bytes, done, Math.min(MAX_READ_CHUNK, bytes.length - done));
  }
}

/** Atomically write a text (e.g. JSON) file. */
export function writeTextAtomic(file: string, text: string): void {
  writeFileAtomic(file, (fd) => writeAll(fd, Buffer.from(text, 'utf8')));
}

/** Atomically write a JSON file, pretty-printed like transformers' save_pretrained. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeTextAtomic(file, JSON.stringify(value, null, 2) + '\n');
}
