// The subset of node:fs the library uses, over an in-memory file tree: what `node:fs`
// resolves to in the browser bundle (scripts/buildWeb.js). The page writes the served
// model folder and data into it (web/studio.ts putFile), the library reads them, trains
// and writes its run folder (metrics.jsonl, checkpoints, adapter/) here, and the page
// reads the adapter back for the download. Same semantics as Node where the library
// relies on them: ENOENT/EEXIST/ENOTDIR errors with `code`, O_EXCL, O_APPEND, atomic
// rename, recursive mkdir/rm. No links, no permissions.

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8');

type Data = Uint8Array<ArrayBuffer>;

interface FileNode {
  kind: 'file';
  data: Data;
  size: number;
  mtimeMs: number;
}
interface DirNode {
  kind: 'dir';
  mtimeMs: number;
}
type Node = FileNode | DirNode;

const nodes = new Map<string, Node>([['/', { kind: 'dir', mtimeMs: Date.now() }]]);

export const constants = {
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_NOFOLLOW: 0o400000,
  F_OK: 0,
  R_OK: 4,
  W_OK: 2,
};

function fsError(code: string, syscall: string, p: string): Error {
  const e = new Error(`${code}: ${syscall} '${p}'`) as Error & { code: string; syscall: string; path: string };
  e.code = code;
  e.syscall = syscall;
  e.path = p;
  return e;
}

/** An absolute, normalised path ('/a/b'); relative paths are taken from '/'. */
function norm(p: string | URL): string {
  const s = typeof p === 'string' ? p : p.pathname;
  const out: string[] = [];
  for (const part of s.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

function requireDir(p: string, syscall: string): void {
  const n = nodes.get(p);
  if (!n) throw fsError('ENOENT', syscall, p);
  if (n.kind !== 'dir') throw fsError('ENOTDIR', syscall, p);
}

function fileNode(p: string, syscall: string): FileNode {
  const n = nodes.get(p);
  if (!n) throw fsError('ENOENT', syscall, p);
  if (n.kind !== 'file') throw fsError('EISDIR', syscall, p);
  return n;
}

function bytesOf(data: string | ArrayBufferView): Uint8Array {
  return typeof data === 'string' ? enc.encode(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function setBytes(n: FileNode, at: number, bytes: Uint8Array): void {
  const end = at + bytes.length;
  if (end > n.data.length) {
    const grown = new Uint8Array(Math.max(end, n.data.length * 2, 64));
    grown.set(n.data.subarray(0, n.size));
    n.data = grown;
  }
  n.data.set(bytes, at);
  n.size = Math.max(n.size, end);
  n.mtimeMs = Date.now();
}

function newFile(p: string): FileNode {
  requireDir(parentOf(p), 'open');
  const n: FileNode = { kind: 'file', data: new Uint8Array(0), size: 0, mtimeMs: Date.now() };
  nodes.set(p, n);
  return n;
}

/** Puts a whole file (creating its folders): how the page hands the library its inputs. */
export function putFile(p: string, data: Uint8Array): void {
  mkdirSync(parentOf(norm(p)), { recursive: true });
  const bytes = new Uint8Array(data.length);
  bytes.set(data);
  nodes.set(norm(p), { kind: 'file', data: bytes, size: bytes.length, mtimeMs: Date.now() });
}

export function existsSync(p: string | URL): boolean {
  return nodes.has(norm(p));
}

export function readFileSync(p: string | URL, options?: string | { encoding?: string | null }): Data | string {
  const n = fileNode(norm(p), 'open');
  const bytes = n.data.slice(0, n.size);
  const encoding = typeof options === 'string' ? options : options?.encoding;
  return encoding ? dec.decode(bytes) : bytes;
}

export function writeFileSync(p: string | URL, data: string | ArrayBufferView): void {
  const path = norm(p);
  const n = nodes.get(path);
  if (n?.kind === 'dir') throw fsError('EISDIR', 'open', path);
  const f = n ?? newFile(path);
  f.data = new Uint8Array(0);
  f.size = 0;
  setBytes(f, 0, bytesOf(data));
}

export function appendFileSync(p: string | URL, data: string | ArrayBufferView): void {
  const path = norm(p);
  const f = nodes.has(path) ? fileNode(path, 'open') : newFile(path);
  setBytes(f, f.size, bytesOf(data));
}

export function mkdirSync(p: string | URL, options?: { recursive?: boolean }): string | undefined {
  const path = norm(p);
  const n = nodes.get(path);
  if (n) {
    if (options?.recursive && n.kind === 'dir') return undefined;
    throw fsError('EEXIST', 'mkdir', path);
  }
  if (options?.recursive && path !== '/') mkdirSync(parentOf(path), options);
  else requireDir(parentOf(path), 'mkdir');
  nodes.set(path, { kind: 'dir', mtimeMs: Date.now() });
  return path;
}

function childrenOf(path: string): string[] {
  const prefix = path === '/' ? '/' : path + '/';
  const names: string[] = [];
  for (const k of nodes.keys())
    if (k !== path && k.startsWith(prefix) && !k.slice(prefix.length).includes('/')) names.push(k.slice(prefix.length));
  return names.sort();
}

/** What node:fs's Dirent and Stats both answer about an entry (no links here). */
class EntryKind {
  constructor(protected readonly node: Node) {}
  isFile(): boolean {
    return this.node.kind === 'file';
  }
  isDirectory(): boolean {
    return this.node.kind === 'dir';
  }
  isSymbolicLink(): boolean {
    return false;
  }
}

class Dirent extends EntryKind {
  constructor(
    readonly name: string,
    node: Node,
  ) {
    super(node);
  }
}

export function readdirSync(p: string | URL, options?: { withFileTypes?: boolean }): (string | Dirent)[] {
  const path = norm(p);
  requireDir(path, 'scandir');
  const names = childrenOf(path);
  return options?.withFileTypes ? names.map((n) => new Dirent(n, nodes.get(path === '/' ? `/${n}` : `${path}/${n}`)!)) : names;
}

export class Stats extends EntryKind {
  get size(): number {
    return this.node.kind === 'file' ? this.node.size : 0;
  }
  get mtimeMs(): number {
    return this.node.mtimeMs;
  }
  get mtime(): Date {
    return new Date(this.node.mtimeMs);
  }
}

export function statSync(p: string | URL, options?: { throwIfNoEntry?: boolean }): Stats | undefined {
  const n = nodes.get(norm(p));
  if (!n) {
    if (options?.throwIfNoEntry === false) return undefined;
    throw fsError('ENOENT', 'stat', norm(p));
  }
  return new Stats(n);
}

export const lstatSync = statSync;

export function realpathSync(p: string | URL): string {
  const path = norm(p);
  if (!nodes.has(path)) throw fsError('ENOENT', 'realpath', path);
  return path;
}

export function rmSync(p: string | URL, options?: { recursive?: boolean; force?: boolean }): void {
  const path = norm(p);
  const n = nodes.get(path);
  if (!n) {
    if (options?.force) return;
    throw fsError('ENOENT', 'rm', path);
  }
  if (n.kind === 'dir') {
    if (!options?.recursive) throw fsError('EISDIR', 'rm', path);
    for (const k of [...nodes.keys()]) if (k.startsWith(path + '/')) nodes.delete(k);
  }
  nodes.delete(path);
}

export function unlinkSync(p: string | URL): void {
  const path = norm(p);
  fileNode(path, 'unlink');
  nodes.delete(path);
}

export function rmdirSync(p: string | URL): void {
  const path = norm(p);
  requireDir(path, 'rmdir');
  if (childrenOf(path).length) throw fsError('ENOTEMPTY', 'rmdir', path);
  nodes.delete(path);
}

export function renameSync(from: string | URL, to: string | URL): void {
  const a = norm(from);
  const b = norm(to);
  const n = nodes.get(a);
  if (!n) throw fsError('ENOENT', 'rename', a);
  requireDir(parentOf(b), 'rename');
  const target = nodes.get(b);
  if (target?.kind === 'dir' && childrenOf(b).length) throw fsError('ENOTEMPTY', 'rename', b);
  if (target) rmSync(b, { recursive: true });
  for (const k of [...nodes.keys()]) {
    if (k === a || k.startsWith(a + '/')) {
      const moved = nodes.get(k)!;
      nodes.delete(k);
      nodes.set(b + k.slice(a.length), moved);
    }
  }
}

export function copyFileSync(from: string | URL, to: string | URL): void {
  const n = fileNode(norm(from), 'copyfile');
  writeFileSync(to, n.data.subarray(0, n.size));
}

export function mkdtempSync(prefix: string): string {
  for (let i = 0; ; i++) {
    const p = norm(`${prefix}${Math.random().toString(36).slice(2, 8)}`);
    if (!nodes.has(p)) {
      mkdirSync(p, { recursive: true });
      return p;
    }
  }
}

// File descriptors: an open file and its position.
interface Fd {
  path: string;
  pos: number;
  append: boolean;
  dir: boolean;
}
const fds = new Map<number, Fd>();
let nextFd = 3;

function flagsOf(flags: string | number): number {
  if (typeof flags === 'number') return flags;
  const c = constants;
  const table: Record<string, number> = {
    r: c.O_RDONLY,
    'r+': c.O_RDWR,
    w: c.O_WRONLY | c.O_CREAT | c.O_TRUNC,
    wx: c.O_WRONLY | c.O_CREAT | c.O_TRUNC | c.O_EXCL,
    'w+': c.O_RDWR | c.O_CREAT | c.O_TRUNC,
    a: c.O_WRONLY | c.O_CREAT | c.O_APPEND,
    ax: c.O_WRONLY | c.O_CREAT | c.O_APPEND | c.O_EXCL,
  };
  const f = table[flags];
  if (f === undefined) throw new Error(`fs.openSync: flags "${flags}" not supported in the browser`);
  return f;
}

export function openSync(p: string | URL, flags: string | number = 'r'): number {
  const path = norm(p);
  const f = flagsOf(flags);
  const c = constants;
  const n = nodes.get(path);
  if (n && f & c.O_CREAT && f & c.O_EXCL) throw fsError('EEXIST', 'open', path);
  if (!n && !(f & c.O_CREAT)) throw fsError('ENOENT', 'open', path);
  if (n?.kind === 'dir') {
    if (f & (c.O_WRONLY | c.O_RDWR)) throw fsError('EISDIR', 'open', path);
  } else {
    const file = n ?? newFile(path);
    if (f & c.O_TRUNC) {
      file.data = new Uint8Array(0);
      file.size = 0;
    }
  }
  const fd = nextFd++;
  fds.set(fd, { path, pos: 0, append: (f & c.O_APPEND) !== 0, dir: n?.kind === 'dir' });
  return fd;
}

function fdOf(fd: number, syscall: string): Fd {
  const d = fds.get(fd);
  if (!d) throw fsError('EBADF', syscall, String(fd));
  return d;
}

export function closeSync(fd: number): void {
  fdOf(fd, 'close');
  fds.delete(fd);
}

export function fsyncSync(fd: number): void {
  fdOf(fd, 'fsync');
}

export function readSync(fd: number, buffer: ArrayBufferView, offset = 0, length?: number, position?: number | bigint | null): number {
  const d = fdOf(fd, 'read');
  const n = fileNode(d.path, 'read');
  const dest = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const want = length ?? dest.length - offset;
  const at = position === null || position === undefined ? d.pos : Number(position);
  const got = Math.max(0, Math.min(want, n.size - at));
  dest.set(n.data.subarray(at, at + got), offset);
  if (position === null || position === undefined) d.pos += got;
  return got;
}

export function writeSync(fd: number, data: string | ArrayBufferView, offset?: number, length?: number, position?: number | null): number {
  const d = fdOf(fd, 'write');
  const n = fileNode(d.path, 'write');
  let bytes = bytesOf(data);
  if (typeof data !== 'string' && offset !== undefined) bytes = bytes.subarray(offset, length === undefined ? undefined : offset + length);
  const at = d.append ? n.size : typeof position === 'number' ? position : d.pos;
  setBytes(n, at, bytes);
  if (!d.append && typeof position !== 'number') d.pos = at + bytes.length;
  return bytes.length;
}

export function ftruncateSync(fd: number, len = 0): void {
  const n = fileNode(fdOf(fd, 'ftruncate').path, 'ftruncate');
  if (len < n.size) n.data.fill(0, len, n.size);
  else setBytes(n, n.size, new Uint8Array(len - n.size));
  n.size = len;
}

/** Every file under `dir` (for tests and the page's listing). */
export function listFiles(dir: string): string[] {
  const prefix = norm(dir) + '/';
  return [...nodes.entries()].flatMap(([k, n]) => (n.kind === 'file' && k.startsWith(prefix) ? [k] : []));
}

export const promises = {};

export default {
  constants,
  existsSync,
  readFileSync,
  writeFileSync,
  appendFileSync,
  mkdirSync,
  readdirSync,
  statSync,
  lstatSync,
  realpathSync,
  rmSync,
  unlinkSync,
  rmdirSync,
  renameSync,
  copyFileSync,
  mkdtempSync,
  openSync,
  closeSync,
  fsyncSync,
  readSync,
  writeSync,
  ftruncateSync,
  Stats,
  promises,
};
