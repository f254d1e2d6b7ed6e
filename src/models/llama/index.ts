import { registerModelFamily } from '../registry.js';
import { parseLlamaConfig } from './config.js';
import { LlamaForCausalLM } from './model.js';

registerModelFamily({
  about: 'Llama (and Mistral, Qwen2): RoPE, RMSNorm, SwiGLU MLP, grouped-query attention',
  blockLinears: [
    'self_attn.q_proj',
    'self_attn.k_proj',
    'self_attn.v_proj',
    'self_attn.o_proj',
    'mlp.gate_proj',
    'mlp.up_proj',
    'mlp.down_proj',
  ],
  otherLinears: 'lm_head when tie_word_embeddings is false (never in all-linear)',
  modelTypes: ['llama', 'mistral', 'qwen2'],
  build: (config, src, file) => new LlamaForCausalLM(src, parseLlamaConfig(config, file), config),
  ignoredKeys: (config) => [/rotary_emb\.inv_freq$/, ...(config['tie_word_embeddings'] ? [/^lm_head\.weight$/] : [])],
});
