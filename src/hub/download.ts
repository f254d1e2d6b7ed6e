/** One file from the Hub to disk: streamed into a temporary file beside the target and
 * renamed only once every byte has arrived, so the folder never holds a half-written
 * file (an interrupted pull leaves at most a .part file, removed on the next start). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../errors.js';
import { fetchFile, type HubOptions } from './api.js';
import type { RepoId } from './repoId.js';

export interface FileProgress {
  file: string;
  bytes: number;
  /** null when neither the listing nor Content-Length gave a size */
  total: number | null;
  done: boolean;
}

/** A download that receives nothing for this long is given up (fetch has no timeout). */
const STALL_MS = 60_000;

/** Download `file` to `dest` unless it is there with the expected size. Returns
 * whether it was downloaded (false: skipped). */
export async function downloadFile(
  repo: RepoId,
  revision: string,
  file: string,
  dest: string,
  expectedSize: number | undefined,
  o: HubOptions,
  onProgress: (p: FileProgress) => void,
): Promise<boolean> {
  const have = fs.existsSync(dest) ? fs.statSync(dest).size : null;
  if (have !== null && have === expectedSize) return false;
  const abort = new AbortController();
  let stall = setTimeout(() => abort.abort(), STALL_MS);
  const tmp = `${dest}.part-${process.pid}`;
  try {
    const res = await fetchFile(repo, revision, file, o, abort.signal);
    const total = expectedSize ?? contentLength(res);
    if (have !== null && have === total) {
      await res.body?.cancel();
      return false;
    }
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const out = await fs.promises.open(tmp, 'w');
    let bytes = 0;
    try {
      for await (const chunk of res.body ?? []) {
        clearTimeout(stall);
        stall = setTimeout(() => abort.abort(), STALL_MS);
        bytes += (chunk as Uint8Array).byteLength;
        if (total !== null && bytes > total) {
          // the body is longer than announced: stop now, not after gigabytes of disk
          abort.abort();
          throw new ColaError(
            `${repo.id}: ${file} is larger than the ${total} bytes the Hub announced (${bytes} bytes received when cola stopped); the server sent something else than the file listed. Check the repo id, revision and HF_ENDPOINT, then run again`,
          );
        }
        await out.write(chunk as Uint8Array);
        onProgress({ file, bytes, total, done: false });
      }
    } finally {
      await out.close();
    }
    if (total !== null && bytes !== total) {
      throw new ColaError(`${repo.id}: ${file} arrived incomplete (${bytes} of ${total} bytes); run the same command again to retry`);
    }
    fs.renameSync(tmp, dest);
    onProgress({ file, bytes, total, done: true });
    return true;
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    if (e instanceof ColaError) throw e;
    // A connection dropped mid-body surfaces here, not in fetch(): request errors are ColaErrors already.
    const reason = abort.signal.aborted
      ? `no data for ${STALL_MS / 1000} s`
      : ((e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message);
    throw new ColaError(`${repo.id}: downloading ${file} failed (${reason}); run the same command again: finished files are kept`);
  } finally {
    clearTimeout(stall);
  }
}

/** Leftovers of an interrupted earlier pull. */
export function removePartFiles(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) if (/\.part-\d+$/.test(f)) fs.rmSync(path.join(dir, f), { force: true });
}

/** The body's size, when the server gave it for an uncompressed body. */
function contentLength(res: Response): number | null {
  const header = res.headers.get('content-length');
  return header !== null && !res.headers.has('content-encoding') && /^\d+$/.test(header) ? Number(header) : null;
}
