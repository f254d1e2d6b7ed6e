import { ColaError } from '../../errors.js';
import { convertLlama2c } from '../../io/convertLlama2c.js';
import { checkOutputDir } from '../../io/runFolder.js';
import type { Command } from '../command.js';

export const convertCommand: Command = {
  name: 'convert',
  summary: 'convert a llama2.c checkpoint (.bin: version 0 or 1 float32, version 2 int8 Q8_0) + tokenizer into a model folder',
  usage:
    'cola convert llama2c MODEL.bin TOKENIZER.bin OUT_DIR\n\n  MODEL.bin      llama2.c checkpoint: version 0 (legacy float32, run.c), 1 (float32) or 2 (int8 Q8_0), as export.py writes them\n  TOKENIZER.bin  its llama2.c tokenizer (tokenizer.bin, or tok*.bin from tokenizer.py)\n  OUT_DIR        written: config.json, model.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json',
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
