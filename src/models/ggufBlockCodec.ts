/** GGUF's Q8_0 / Q4_0 blocks through cola's one block codec (issue 17): a GGUF tensor of n
 * values is n / 32 blocks in a flat stream, which is a [n / 32, 32] weight in cola's
 * `q8_0` / `q4_0` format byte for byte (one block a row, no padding). io/gguf reads and
 * writes the bytes; this is the codec it is handed (io may not import backend). */
import { dequantize, quantize } from '../backend/quant/codec.js';
import type { GgufBlockCodec } from '../io/gguf/ggufCodecs.js';

const QK = 32;

function blockRows(n: number): number {
  if (!Number.isInteger(n / QK)) throw new RangeError(`GGUF blocks: ${n} values are not whole blocks of ${QK}`);
  return n / QK;
}

export const GGUF_BLOCK_CODEC: GgufBlockCodec = {
  decode: (format, blocks, n) => dequantize({ format, rows: blockRows(n), cols: QK, data: blocks, scales: null }),
  encode: (format, values) => quantize(values, blockRows(values.length), QK, format).data,
};
