import { UNTIED_LM_HEAD } from '../decoder/model.js';
import { registerModelFamily } from '../registry.js';
import { parsePhi3Config } from './config.js';
import { Phi3ForCausalLM } from './model.js';

registerModelFamily({
  about: 'Phi-3 (Phi-3-mini-4k and alike): a Llama with fused qkv_proj and gate_up_proj, optional sliding window and partial RoPE',
  // PEFT names the fused layers: target qkv_proj, o_proj, gate_up_proj, down_proj
  blockLinears: ['self_attn.qkv_proj', 'self_attn.o_proj', 'mlp.gate_up_proj', 'mlp.down_proj'],
  otherLinears: UNTIED_LM_HEAD,
  modelTypes: ['phi3'],
  build: (config, src, file) => new Phi3ForCausalLM(src, parsePhi3Config(config, file), config),
  ignoredKeys: (config) => [/rotary_emb\.inv_freq$/, ...(config['tie_word_embeddings'] ? [/^lm_head\.weight$/] : [])],
});
