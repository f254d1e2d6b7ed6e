import { registerModelFamily } from '../registry.js';
import { parseLlamaConfig } from './config.js';
import { LlamaForCausalLM } from './model.js';

registerModelFamily({
  modelTypes: ['llama', 'mistral', 'qwen2'],
  build: (config, src, file) => new LlamaForCausalLM(src, parseLlamaConfig(config, file), config),
  ignoredKeys: (config) => [/rotary_emb\.inv_freq$/, ...(config['tie_word_embeddings'] ? [/^lm_head\.weight$/] : [])],
});
