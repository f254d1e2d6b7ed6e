/** `--model FILE.bin` (issue 17): a llama2.c checkpoint loaded directly, so a version 2
 * (int8) file keeps its linear weights quantized. A path is taken as llama2.c when it is a
 * regular file named *.bin; its tokenizer is the `tokenizer.bin` beside it, else the one
 * `tok*.bin` there (llama2.c's run.c takes tokenizer.bin; tinyllamas ship tok512.bin, …). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ColaError } from '../errors.js';

export function isLlama2cFile(p: string): boolean {
  if (!p.toLowerCase().endsWith('.bin')) return false;
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

export function llama2cTokenizerBeside(file: string): string {
  const dir = path.dirname(file);
  const own = path.basename(file);
  if (fs.existsSync(path.join(dir, 'tokenizer.bin')) && own !== 'tokenizer.bin') return path.join(dir, 'tokenizer.bin');
  const found = fs.readdirSync(dir).filter((f) => f !== own && /^tok.*\.bin$/i.test(f));
  if (found.length === 1) return path.join(dir, found[0]!);
  throw new ColaError(
    `${file}: a llama2.c model needs its tokenizer beside it: tokenizer.bin, or exactly one tok*.bin (found ${found.length ? found.join(', ') : 'none'}) in ${dir}; ` +
      'or make a model folder with `cola convert llama2c MODEL.bin TOKENIZER.bin OUT_DIR`',
  );
}
