import { ColaError } from '../../errors.js';
import { convertLlama2c } from '../../io/convertLlama2c.js';
import { checkOutputDir } from '../../io/runFolder.js';
import type { Command } from '../command.js';

export const convertCommand: Command = {
  name: 'convert',
  summary: 'convert a llama2.c checkpoint (.bin, v0 float32 or v2 int8) + tokenizer into a model folder',
  usage: 'cola convert llama2c MODEL.bin TOKENIZER.bin OUT_DIR',
  options: {},
  run(_v, pos) {
    const [format, modelBin, tokBin, outDir] = pos;
    if (format !== 'llama2c')
      throw new ColaError(
        `unknown source format "${format ?? ''}"; supported: llama2c (usage: cola convert llama2c MODEL.bin TOKENIZER.bin OUT_DIR)`,
      );
    if (!modelBin || !tokBin || !outDir) throw new ColaError('usage: cola convert llama2c MODEL.bin TOKENIZER.bin OUT_DIR');
    checkOutputDir(outDir, 'OUT_DIR', { allowRun: false });
    const r = convertLlama2c(modelBin, tokBin, outDir);
    process.stderr.write(`cola convert: wrote ${r.files.length} files to ${r.outDir}\n`);
    return 0;
  },
};
