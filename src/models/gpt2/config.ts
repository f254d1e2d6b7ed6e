import { ColaError } from '../../errors.js';
import { activationName } from '../activations.js';
import { ConfigReader } from '../configKeys.js';

/** GPT-2's config.json (HF GPT2Config). Names keep the file's spelling. */
export interface Gpt2Config {
  vocab_size: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  n_positions: number;
  /** MLP width; null in the file means 4 * n_embd */
  n_inner: number;
  layer_norm_epsilon: number;
  activation_function: string;
  scale_attn_weights: boolean;
  scale_attn_by_inverse_layer_idx: boolean;
  tie_word_embeddings: boolean;
  bos_token_id: number | null;
  eos_token_id: number | null;
}

export function parseGpt2Config(raw: Record<string, unknown>, file: string): Gpt2Config {
  const c = new ConfigReader(raw, file);
  const d = c.int('n_embd');
  const cfg: Gpt2Config = {
    vocab_size: c.int('vocab_size'),
    n_embd: d,
    n_layer: c.int('n_layer'),
    n_head: c.int('n_head'),
    // very old configs name the context n_ctx
    n_positions: c.int('n_positions', (raw['n_ctx'] as number | undefined) ?? 1024),
    n_inner: c.int('n_inner', 4 * d),
    layer_norm_epsilon: c.num('layer_norm_epsilon', 1e-5),
    activation_function: activationName(c.str('activation_function', 'gelu_new'), file, 'activation_function'),
    scale_attn_weights: c.bool('scale_attn_weights', true),
    scale_attn_by_inverse_layer_idx: c.bool('scale_attn_by_inverse_layer_idx', false),
    tie_word_embeddings: c.bool('tie_word_embeddings', true),
    bos_token_id: c.tokenId('bos_token_id'),
    eos_token_id: c.tokenId('eos_token_id'),
  };
  if (d % cfg.n_head !== 0) throw new ColaError(`${file}: n_embd (${d}) must be a multiple of n_head (${cfg.n_head})`);
  if (raw['add_cross_attention'] === true)
    throw new ColaError(`${file}: key "add_cross_attention" true (encoder-decoder GPT-2) is not supported`);
  return cfg;
}

/** Attention score scale of block `layer` (HF GPT2Attention._attn). */
export function attentionScale(cfg: Gpt2Config, layer: number): number {
  let s = cfg.scale_attn_weights ? 1 / Math.sqrt(cfg.n_embd / cfg.n_head) : 1;
  if (cfg.scale_attn_by_inverse_layer_idx) s /= layer + 1;
  return s;
}
