/** Where cola accepts a model folder it also accepts a GGUF file (issue 17): a path is
 * taken as GGUF when it is a regular file named *.gguf. */
import * as fs from 'node:fs';

export function isGgufFile(p: string): boolean {
  if (!p.toLowerCase().endsWith('.gguf')) return false;
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
