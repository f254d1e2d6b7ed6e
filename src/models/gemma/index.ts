import { QKV_GATED_LINEARS, UNTIED_LM_HEAD } from '../decoder/model.js';
import { registerModelFamily } from '../registry.js';
import { parseGemmaConfig } from './config.js';
import { GemmaForCausalLM } from './model.js';

registerModelFamily({
  about:
    'Gemma 2 and Gemma 3 (text: gemma3_text): GeGLU MLP, (1 + w) RMSNorm before and after each sub-layer, sqrt(hidden) embedding scale, ' +
    'sliding-window layers (Gemma 3: 5 local to 1 global, own RoPE bases), Gemma 2 logit soft-capping, Gemma 3 q_norm/k_norm',
  blockLinears: QKV_GATED_LINEARS,
  otherLinears: UNTIED_LM_HEAD,
  modelTypes: ['gemma2', 'gemma3_text'],
  build: (config, src, file) => new GemmaForCausalLM(src, parseGemmaConfig(config, file), config),
  ignoredKeys: (config) => [/rotary_emb(_local)?\.inv_freq$/, ...(config['tie_word_embeddings'] === false ? [] : [/^lm_head\.weight$/])],
});
