/** The two Hugging Face Hub HTTP endpoints cola uses, with their errors turned into
 * messages that say what to do:
 *   GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true -> { sha, siblings: [{ rfilename, size }] }
 *   GET {endpoint}/{repo}/resolve/{rev}/{file}                  -> the bytes (often via a redirect to a CDN) */
import { ColaError } from '../errors.js';
import type { RepoId } from './repoId.js';

export interface HubOptions {
  /** e.g. https://huggingface.co (env HF_ENDPOINT) */
  endpoint: string;
  /** sent as `Authorization: Bearer` (env HF_TOKEN), for private and gated repos */
  token?: string;
}

const DEFAULT_ENDPOINT = 'https://huggingface.co';

export function hubOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): HubOptions {
  const endpoint = (env['HF_ENDPOINT'] || DEFAULT_ENDPOINT).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(endpoint))
    throw new ColaError(`HF_ENDPOINT must be an http(s) URL, got "${endpoint}"; unset it to use ${DEFAULT_ENDPOINT}`);
  return { endpoint, token: env['HF_TOKEN'] || undefined };
}

export interface RepoListing {
  /** the commit the revision points to; files are fetched from it so they all match */
  sha: string | null;
  /** file name -> size in bytes (undefined when the Hub did not say) */
  files: Map<string, number | undefined>;
}

const LIST_TIMEOUT_MS = 30_000;
/** A listing of 100k files is about 10 MB. */
const MAX_LISTING_BYTES = 64 << 20;

/** The body as text, refusing one longer than `max` bytes without reading the rest. */
async function boundedText(res: Response, max: number, url: string): Promise<string> {
  const parts: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of res.body ?? []) {
    bytes += (chunk as Uint8Array).byteLength;
    if (bytes > max) {
      await res.body?.cancel().catch(() => {});
      throw new ColaError(`${url}: the file listing is over ${max} bytes; is HF_ENDPOINT a Hugging Face Hub?`);
    }
    parts.push(chunk as Uint8Array);
  }
  return Buffer.concat(parts).toString('utf8');
}

function parseOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export async function listRepo(repo: RepoId, revision: string, o: HubOptions): Promise<RepoListing> {
  const url = `${o.endpoint}/api/models/${repo.id}/revision/${encodeURIComponent(revision)}?blobs=true`;
  const res = await request(url, o, AbortSignal.timeout(LIST_TIMEOUT_MS));
  if (!res.ok) throw await httpError(res, repo, revision, 'list files', o.endpoint);
  const body = parseOrNull(await boundedText(res, MAX_LISTING_BYTES, url)) as { sha?: unknown; siblings?: unknown } | null;
  if (!body || !Array.isArray(body.siblings))
    throw new ColaError(`${url}: expected JSON with a "siblings" list; is HF_ENDPOINT (${o.endpoint}) a Hugging Face Hub?`);
  const files = new Map<string, number | undefined>();
  for (const s of body.siblings as { rfilename?: unknown; size?: unknown; lfs?: { size?: unknown } }[]) {
    if (typeof s?.rfilename !== 'string') continue;
    const size = typeof s.size === 'number' ? s.size : typeof s.lfs?.size === 'number' ? s.lfs.size : undefined;
    files.set(s.rfilename, size);
  }
  return { sha: typeof body.sha === 'string' ? body.sha : null, files };
}

/** The response of a file download, checked to be 200 (fetch has followed the redirects). */
export async function fetchFile(repo: RepoId, revision: string, file: string, o: HubOptions, signal?: AbortSignal): Promise<Response> {
  const encoded = file.split('/').map(encodeURIComponent).join('/');
  // identity: a compressed body would not match the sizes the listing and Content-Length give
  const res = await request(`${o.endpoint}/${repo.id}/resolve/${encodeURIComponent(revision)}/${encoded}`, o, signal, {
    'accept-encoding': 'identity',
  });
  if (!res.ok) throw await httpError(res, repo, revision, `download ${file}`, o.endpoint);
  return res;
}

async function request(url: string, o: HubOptions, signal?: AbortSignal, headers: Record<string, string> = {}): Promise<Response> {
  try {
    return await fetch(url, {
      headers: { ...headers, ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) },
      redirect: 'follow',
      signal,
    });
  } catch (e) {
    throw networkError(e, o.endpoint);
  }
}

/** fetch's "fetch failed" hides the reason in `cause`: name it, and say what to do offline. */
function networkError(e: unknown, endpoint: string): ColaError {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const reason = err.name === 'TimeoutError' ? 'timed out' : (err.cause?.code ?? err.cause?.message ?? err.message ?? String(e));
  return new ColaError(
    `cannot reach ${endpoint} (${reason}): no network, or a proxy/firewall blocks it. ` +
      'To use a model you already have, pass --model DIR with a local Hugging Face folder (`cola convert llama2c` makes one from a llama2.c .bin); ' +
      'a mirror can be set with HF_ENDPOINT',
  );
}

/** The Hub answers 401 for a repo that does not exist (or is private) without a token,
 * and says which in the X-Error-Code header. */
async function httpError(res: Response, repo: RepoId, revision: string, what: string, endpoint: string): Promise<ColaError> {
  const code = res.headers.get('x-error-code') ?? '';
  const detail = (res.headers.get('x-error-message') ?? (await res.text().catch(() => '')).slice(0, 200)).trim();
  if (code === 'RevisionNotFound')
    return new ColaError(`revision "${revision}" of ${repo.id} not found (check --revision: a branch, tag or commit)`);
  if (code === 'GatedRepo' || res.status === 403) {
    return new ColaError(
      `${repo.id} is gated or private (HTTP ${res.status}): accept its terms on ${endpoint}/${repo.id} and set HF_TOKEN to a token of that account`,
    );
  }
  if (code === 'EntryNotFound') return new ColaError(`${repo.id}@${revision}: cannot ${what}: the file is not in the repo`);
  if (res.status === 404 || res.status === 401) {
    return new ColaError(`model ${repo.id} not found (check the name, or set HF_TOKEN for gated models)`);
  }
  return new ColaError(`${repo.id}: cannot ${what}: HTTP ${res.status} ${res.statusText}${detail ? ` (${detail})` : ''}; try again later`);
}
