import { registerModelFamily } from '../registry.js';
import { withOptionalPrefix } from '../weightSource.js';
import { parseGpt2Config } from './config.js';
import { GPT2LMHeadModel } from './model.js';

registerModelFamily({
  about: 'GPT-2: learned positions, pre-LayerNorm, GELU MLP, fused q/k/v projection (Conv1D, stored transposed)',
  blockLinears: ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'],
  otherLinears: 'lm_head when tie_word_embeddings is false (never in all-linear)',
  modelTypes: ['gpt2'],
  // the hub's gpt2 files were saved from GPT2Model: keys start at `wte.`, `h.0.`
  build: (config, src, file) =>
    new GPT2LMHeadModel(withOptionalPrefix(src, 'transformer.', 'wte.weight'), parseGpt2Config(config, file), config),
  ignoredKeys: (config) => [
    // causal-mask buffers older transformers saved; the attention op masks itself
    /^(transformer\.)?h\.\d+\.attn\.(masked_)?bias$/,
    ...(config['tie_word_embeddings'] === false ? [] : [/^lm_head\.weight$/]),
  ],
});
