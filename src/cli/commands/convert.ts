import { ColaError } from '../../errors.js';
import { convertLlama2c } from '../../io/convertLlama2c.js';
import { convertGguf } from '../../io/gguf/convertGguf.js';
import { GGUF_BLOCK_CODEC } from '../../models/ggufBlockCodec.js';
import { checkOutputDir } from '../../io/runFolder.js';
import type { Command } from '../command.js';

const USAGE_LLAMA2C = 'cola convert llama2c MODEL.bin TOKENIZER.bin OUT_DIR';
const USAGE_GGUF = 'cola convert gguf FILE.gguf OUT_DIR';

export const convertCommand: Command = {
  name: 'convert',
  summary: 'convert a llama2.c checkpoint (.bin + tokenizer) or a llama GGUF file into a Hugging Face model folder',
  usage:
    `${USAGE_LLAMA2C}\n${USAGE_GGUF}\n\n  MODEL.bin      llama2.c checkpoint: version 0 (legacy float32, run.c), 1 (float32) or 2 (int8 Q8_0), as export.py writes them\n  TOKENIZER.bin  its llama2.c tokenizer (tokenizer.bin, or tok*.bin from tokenizer.py)\n` +
    '  FILE.gguf      llama.cpp GGUF file (versions 1-3, general.architecture llama): F32/F16/BF16 exact, Q8_0/Q4_0/Q4_K/Q5_K/Q6_K/Q8_K dequantized to f32; its tokenizer.ggml.* becomes tokenizer.json\n' +
    '  OUT_DIR        written: config.json, model.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json',
  options: {},
  run(_v, pos) {
    const [format] = pos;
    if (format === 'gguf') {
      const [, file, outDir, extra] = pos;
      if (!file || !outDir || extra !== undefined) throw new ColaError(`usage: ${USAGE_GGUF}`);
      checkOutputDir(outDir, 'OUT_DIR', { allowRun: false });
      const r = convertGguf(file, outDir, GGUF_BLOCK_CODEC);
      if (r.dequantized.length) process.stderr.write(`cola convert: note: ${r.dequantized.join(', ')} tensors were dequantized to f32\n`);
      process.stderr.write(`cola convert: wrote ${r.files.length} files to ${r.outDir}\n`);
      return 0;
    }
    if (format !== 'llama2c')
      throw new ColaError(`unknown source format "${format ?? ''}"; supported: llama2c, gguf (usage: ${USAGE_LLAMA2C} | ${USAGE_GGUF})`);
    const [, modelBin, tokBin, outDir] = pos;
    if (!modelBin || !tokBin || !outDir) throw new ColaError(`usage: ${USAGE_LLAMA2C}`);
    checkOutputDir(outDir, 'OUT_DIR', { allowRun: false });
    const r = convertLlama2c(modelBin, tokBin, outDir);
    process.stderr.write(`cola convert: wrote ${r.files.length} files to ${r.outDir}\n`);
    return 0;
  },
};
