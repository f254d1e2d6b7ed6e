// A stand-in for the Hugging Face Hub on 127.0.0.1, serving local folders through the two
// endpoints cola uses, with the Hub's behaviours that matter: sizes in the listing
// (?blobs=true), resolve answered by a redirect to a "CDN" URL, 401 + X-Error-Code
// RepoNotFound for unknown repos, RevisionNotFound, and gated repos needing a token.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export interface FakeRepo {
  dir: string;
  /** the token a gated repo needs */
  token?: string;
  /** files whose download is cut off halfway (the connection drops) */
  truncate?: string[];
  /** leave sizes out of the listing (as without ?blobs=true): only Content-Length tells */
  noSizes?: boolean;
  /** files served as a body of this many bytes (streamed, no Content-Length) whatever
   * the listing says: a server sending something else than the file listed */
  oversize?: Record<string, number>;
}

export interface FakeHub {
  endpoint: string;
  /** "METHOD path authorization" of every request, in order */
  log: string[];
  /** bytes written for each oversize file, to see where the client stopped reading */
  sent: Record<string, number>;
  close(): Promise<void>;
}

export const SHA = '0123456789abcdef0123456789abcdef01234567';

export async function startFakeHub(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  const log: string[] = [];
  const sent: Record<string, number> = {};
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    log.push(`${req.method} ${url.pathname}${url.search} ${req.headers.authorization ?? '-'}`);
    handle(repos, url, req, res, sent);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    log,
    sent,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function handle(
  repos: Record<string, FakeRepo>,
  url: URL,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  sent: Record<string, number>,
): void {
  const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
  const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  const cdn = /^\/cdn\/([^/]+\/[^/]+)\/(.+)$/.exec(url.pathname);
  const id = decodeURIComponent((api ?? resolve ?? cdn)?.[1] ?? '');
  const repo = repos[id];
  // CDN URLs are pre-signed on the real Hub: no token needed there.
  if (!repo || (!cdn && repo.token && req.headers.authorization !== `Bearer ${repo.token}`)) {
    // The Hub does not tell a missing repo from a private or gated one without a valid token.
    return send(res, 401, { 'x-error-code': 'RepoNotFound' }, 'Repository not found');
  }
  const rev = decodeURIComponent((api ?? resolve)?.[2] ?? SHA);
  if (rev !== 'main' && rev !== SHA) return send(res, 404, { 'x-error-code': 'RevisionNotFound' }, 'Invalid rev id');
  if (api) {
    const siblings = fs
      .readdirSync(repo.dir)
      .map((f) => ({ rfilename: f, ...(repo.noSizes ? {} : { size: fs.statSync(path.join(repo.dir, f)).size }) }));
    return send(res, 200, { 'content-type': 'application/json' }, JSON.stringify({ id, sha: SHA, siblings }));
  }
  if (resolve) {
    if (!fs.existsSync(path.join(repo.dir, decodeURIComponent(resolve[3]!))))
      return send(res, 404, { 'x-error-code': 'EntryNotFound' }, 'Entry not found');
    return send(res, 302, { location: `/cdn/${id}/${resolve[3]}` }, '');
  }
  if (cdn) {
    const file = decodeURIComponent(cdn[2]!);
    const oversize = repo.oversize?.[file];
    if (oversize !== undefined) return streamZeros(res, oversize, (n) => (sent[file] = n));
    const bytes = fs.readFileSync(path.join(repo.dir, file));
    res.writeHead(200, { 'content-length': bytes.length });
    if (repo.truncate?.includes(file)) {
      res.write(bytes.subarray(0, bytes.length >> 1));
      setTimeout(() => res.destroy(), 20);
      return;
    }
    return void res.end(bytes);
  }
  send(res, 404, {}, 'no such endpoint');
}

function send(res: http.ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, headers);
  res.end(body);
}

/** `total` zero bytes in 64 KiB writes that wait for the client (so an early stop shows). */
function streamZeros(res: http.ServerResponse, total: number, report: (sent: number) => void): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  const chunk = Buffer.alloc(64 << 10);
  let sent = 0;
  const pump = (): void => {
    while (sent < total && !res.destroyed) {
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      report(sent);
      if (!res.write(chunk.subarray(0, n))) return void res.once('drain', pump);
    }
    if (!res.destroyed) res.end();
  };
  res.on('close', () => report(sent));
  pump();
}
