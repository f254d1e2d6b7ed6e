/** The config.json keys every Llama-style decoder family (llama, gemma, phi3) reads the
 * same way; each family's defaults differ, and it reads its own keys after these. */
import { ColaError } from '../../errors.js';
import type { ConfigReader } from '../configKeys.js';
import type { HeadDims } from './attention.js';
import type { DecoderConfig } from './model.js';

/** The shared keys (the file's spelling). */
export interface DecoderDims extends DecoderConfig, HeadDims {
  intermediate_size: number;
  rms_norm_eps: number;
}

/** A family's defaults for keys a config.json may leave out (transformers' defaults). */
export interface DecoderDefaults {
  maxPositions: number;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
  /** default: hidden_size / num_attention_heads */
  headDim?: number;
}

export function readDecoderDims(c: ConfigReader, defaults: DecoderDefaults): DecoderDims {
  const heads = c.int('num_attention_heads');
  const hidden = c.int('hidden_size');
  const dims: DecoderDims = {
    model_type: c.str('model_type'),
    vocab_size: c.int('vocab_size'),
    hidden_size: hidden,
    intermediate_size: c.int('intermediate_size'),
    num_hidden_layers: c.int('num_hidden_layers'),
    num_attention_heads: heads,
    num_key_value_heads: c.int('num_key_value_heads', heads),
    head_dim: c.int('head_dim', defaults.headDim ?? Math.floor(hidden / heads)),
    max_position_embeddings: c.int('max_position_embeddings', defaults.maxPositions),
    rms_norm_eps: c.num('rms_norm_eps', defaults.rmsNormEps),
    tie_word_embeddings: c.bool('tie_word_embeddings', defaults.tieWordEmbeddings),
    bos_token_id: c.tokenId('bos_token_id'),
    eos_token_id: c.tokenId('eos_token_id'),
  };
  if (heads % dims.num_key_value_heads !== 0) {
    throw new ColaError(
      `${c.file}: num_attention_heads (${heads}) must be a multiple of num_key_value_heads (${dims.num_key_value_heads})`,
    );
  }
  return dims;
}
