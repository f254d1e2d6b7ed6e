import { registerModelFamily } from '../registry.js';
import { parseLlamaConfig } from './config.js';
import { LlamaForCausalLM } from './model.js';

registerModelFamily({
  about:
    'Llama (and SmolLM/SmolLM2, Mistral, Qwen2, Qwen3): RoPE, RMSNorm, SwiGLU MLP, grouped-query attention; Qwen3 adds q_norm/k_norm per head',
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
  modelTypes: ['llama', 'mistral', 'qwen2', 'qwen3'],
  build: (config, src, file) => new LlamaForCausalLM(src, parseLlamaConfig(config, file), config),
  ignoredKeys: (config) => [/rotary_emb\.inv_freq$/, ...(config['tie_word_embeddings'] ? [/^lm_head\.weight$/] : [])],
});
