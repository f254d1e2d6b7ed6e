import { ColaError } from '../../errors.js';
import { activationName } from '../activations.js';
import { ConfigReader } from '../configKeys.js';

/** OPT's config.json (HF OPTConfig). Names keep the file's spelling. */
export interface OptConfig {
  vocab_size: number;
  hidden_size: number;
  /** width of the token embeddings and the LM head; != hidden_size adds project_in/out */
  word_embed_proj_dim: number;
  ffn_dim: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  max_position_embeddings: number;
  /** pre-LN (OPT-125m and most) or post-LN (OPT-350m) */
  do_layer_norm_before: boolean;
  _remove_final_layer_norm: boolean;
  enable_bias: boolean;
  activation_function: string;
  bos_token_id: number | null;
  eos_token_id: number | null;
}

export function parseOptConfig(raw: Record<string, unknown>, file: string): OptConfig {
  const c = new ConfigReader(raw, file);
  const hidden = c.int('hidden_size');
  const cfg: OptConfig = {
    vocab_size: c.int('vocab_size'),
    hidden_size: hidden,
    word_embed_proj_dim: c.int('word_embed_proj_dim', hidden),
    ffn_dim: c.int('ffn_dim'),
    num_hidden_layers: c.int('num_hidden_layers'),
    num_attention_heads: c.int('num_attention_heads'),
    max_position_embeddings: c.int('max_position_embeddings', 2048),
    do_layer_norm_before: c.bool('do_layer_norm_before', true),
    _remove_final_layer_norm: c.bool('_remove_final_layer_norm', false),
    enable_bias: c.bool('enable_bias', true),
    activation_function: activationName(c.str('activation_function', 'relu'), file, 'activation_function'),
    bos_token_id: c.tokenId('bos_token_id'),
    eos_token_id: c.tokenId('eos_token_id'),
  };
  if (hidden % cfg.num_attention_heads !== 0) {
    throw new ColaError(`${file}: hidden_size (${hidden}) must be a multiple of num_attention_heads (${cfg.num_attention_heads})`);
  }
  if (!c.bool('tie_word_embeddings', true)) {
    throw new ColaError(`${file}: key "tie_word_embeddings" false is not supported for opt (its LM head is embed_tokens)`);
  }
  if (!c.bool('layer_norm_elementwise_affine', true)) {
    throw new ColaError(`${file}: key "layer_norm_elementwise_affine" false (LayerNorms without weights) is not supported for opt`);
  }
  return cfg;
}

/** Whether the decoder ends with model.decoder.final_layer_norm (HF OPTDecoder):
 * only pre-LN models have it, and some converted checkpoints drop it. */
export function hasFinalLayerNorm(cfg: OptConfig): boolean {
  return cfg.do_layer_norm_before && !cfg._remove_final_layer_norm;
}
