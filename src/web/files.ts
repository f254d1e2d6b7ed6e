// Getting files into the in-memory file tree (platform/fs.ts) from what a browser has:
// File objects (an <input type=file>, drag and drop) and URLs (fetch).
import { putFile } from './platform/fs.js';

/** Each File under `dir` by its name (a folder picked with webkitdirectory: its relative path). */
export async function putFiles(dir: string, files: Iterable<File>): Promise<string[]> {
  const names: string[] = [];
  for (const f of files) {
    const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    // a picked folder's paths start with the folder's own name
    const name = rel.includes('/') ? rel.slice(rel.indexOf('/') + 1) : rel;
    putFile(`${dir}/${name}`, new Uint8Array(await f.arrayBuffer()));
    names.push(name);
  }
  return names;
}

/** Fetches `baseUrl + name` for each name into `dir/name`. */
export async function fetchFiles(dir: string, baseUrl: string, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const r = await fetch(new URL(encodeURIComponent(name), baseUrl));
    if (!r.ok) throw new Error(`${baseUrl}${name}: HTTP ${r.status}`);
    putFile(`${dir}/${name}`, new Uint8Array(await r.arrayBuffer()));
  }
}
