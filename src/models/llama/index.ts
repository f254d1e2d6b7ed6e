import { QKV_GATED_LINEARS, UNTIED_LM_HEAD } from '../decoder/model.js';
import { registerModelFamily } from '../registry.js';
import { parseLlamaConfig } from './config.js';
import { LlamaForCausalLM } from './model.js';

registerModelFamily({
  about:
    'Llama (and SmolLM/SmolLM2, Mistral, Qwen2, Qwen3): RoPE, RMSNorm, SwiGLU MLP, grouped-query attention; Qwen3 adds q_norm/k_norm per head',
  blockLinears: QKV_GATED_LINEARS,
  otherLinears: UNTIED_LM_HEAD,
  modelTypes: ['llama', 'mistral', 'qwen2', 'qwen3'],
  build: (config, src, file) => new LlamaForCausalLM(src, parseLlamaConfig(config, file), config),
  ignoredKeys: (config) => [/rotary_emb\.inv_freq$/, ...(config['tie_word_embeddings'] ? [/^lm_head\.weight$/] : [])],
});
