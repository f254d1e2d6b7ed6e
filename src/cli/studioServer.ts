// The server behind `cola studio` (issue 20): on 127.0.0.1 only, it serves the built page
// (dist/web/), the files of one model folder under /model/, one data file under /data/,
// and /studio.json naming them. Every response is cross-origin isolated (COOP same-origin,
// COEP require-corp): the webgpu backend needs SharedArrayBuffer (docs/WEBGPU.md). Only
// the listed names are served: no path from the URL reaches the file system.
import * as fs from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ColaError } from '../errors.js';
import type { ServedInfo } from '../web/protocol.js';

/** dist/web/ of this package (this file runs from dist/src/cli). */
export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.jsonl': 'application/jsonl',
};

export interface StudioFiles {
  /** the model folder (config.json + *.safetensors + tokenizer files) */
  modelDir: string;
  /** the data file, or none (the page then asks for an upload) */
  dataFile?: string;
  /** the built page; default dist/web/ */
  webDir?: string;
}

/** name -> absolute path of what is served under one prefix. */
type Listing = Map<string, string>;

function filesOf(dir: string): Listing {
  return new Map(
    fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.startsWith('.'))
      .map((e) => [e.name, path.join(dir, e.name)]),
  );
}

/** Checks the inputs (clear errors for a missing folder, a non-model folder, a missing
 * data file or an unbuilt page) and lists what will be served. */
export function studioListing(f: StudioFiles): { info: ServedInfo; web: Listing; model: Listing; data: Listing } {
  const webDir = f.webDir ?? WEB_DIR;
  if (!fs.existsSync(path.join(webDir, 'index.html')))
    throw new ColaError(`the studio page is not built (${webDir}/index.html is missing): run \`npm run build\``);
  if (!fs.existsSync(f.modelDir)) throw new ColaError(`--model ${f.modelDir}: folder not found`);
  if (!fs.statSync(f.modelDir).isDirectory())
    throw new ColaError(
      `--model ${f.modelDir}: not a folder; the studio serves a Hugging Face model folder (cola convert makes one from .gguf or llama2.c files)`,
    );
  if (!fs.existsSync(path.join(f.modelDir, 'config.json')))
    throw new ColaError(
      `--model ${f.modelDir}: no config.json; expected a Hugging Face model folder (config.json + model.safetensors + tokenizer.json)`,
    );
  if (!fs.existsSync(path.join(f.modelDir, 'tokenizer.json')))
    throw new ColaError(`--model ${f.modelDir}: no tokenizer.json; the page needs the tokenizer to read text`);
  let data: Listing = new Map();
  if (f.dataFile !== undefined) {
    if (!fs.existsSync(f.dataFile) || !fs.statSync(f.dataFile).isFile()) throw new ColaError(`--data ${f.dataFile}: file not found`);
    if (!/\.(txt|jsonl)$/.test(f.dataFile)) throw new ColaError(`--data ${f.dataFile}: expected a .txt corpus or a .jsonl file`);
    data = new Map([[path.basename(f.dataFile), path.resolve(f.dataFile)]]);
  }
  const model = filesOf(f.modelDir);
  const info: ServedInfo = {
    model: { name: path.basename(path.resolve(f.modelDir)), files: [...model.keys()].sort() },
    data: f.dataFile !== undefined ? { name: path.basename(f.dataFile) } : null,
  };
  return { info, web: filesOf(webDir), model, data };
}

function send(res: ServerResponse, status: number, type: string, body?: Buffer | string): void {
  res.writeHead(status, {
    'content-type': type,
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
    'cross-origin-resource-policy': 'same-origin',
    'cache-control': 'no-store',
  });
  res.end(body);
}

function handler(l: ReturnType<typeof studioListing>): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'only GET\n');
    if (url.pathname === '/studio.json') return send(res, 200, TYPES['.json']!, JSON.stringify(l.info));
    const m = /^\/(?:(model|data)\/)?([^/]*)$/.exec(url.pathname);
    const listing = m?.[1] === 'model' ? l.model : m?.[1] === 'data' ? l.data : l.web;
    let name: string;
    try {
      name = decodeURIComponent(m?.[2] || (m?.[1] ? '' : 'index.html'));
    } catch {
      return send(res, 400, 'text/plain', 'bad URL\n');
    }
    const file = m ? listing.get(name) : undefined;
    if (!file) return send(res, 404, 'text/plain', `not found: ${url.pathname}\n`);
    fs.readFile(file, (err, body) => {
      if (err) send(res, 500, 'text/plain', `cannot read ${name}: ${err.message}\n`);
      else send(res, 200, TYPES[path.extname(name)] ?? 'application/octet-stream', req.method === 'HEAD' ? undefined : body);
    });
  };
}

/** Starts the server on 127.0.0.1:`port` (0: a free port); resolves with its URL. */
export async function startStudio(f: StudioFiles, port: number): Promise<{ server: Server; url: string; info: ServedInfo }> {
  const listing = studioListing(f);
  const server = createServer(handler(listing));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new ColaError(`--port ${port}: already in use; choose another (or --port 0 for a free one)`) : e),
    );
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: bound } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${bound}/`, info: listing.info };
}
