import { registerModelFamily } from '../registry.js';
import { withOptionalPrefix } from '../weightSource.js';
import { parseOptConfig } from './config.js';
import { OPTForCausalLM } from './model.js';

registerModelFamily({
  about: 'OPT: learned positions, LayerNorm (pre- or post-), ReLU MLP',
  blockLinears: ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.out_proj', 'fc1', 'fc2'],
  otherLinears: 'decoder.project_in, decoder.project_out when word_embed_proj_dim differs from hidden_size (opt-350m)',
  modelTypes: ['opt'],
  // facebook/opt-* files were saved from OPTModel: their keys start at `decoder.`
  build: (config, src, file) =>
    new OPTForCausalLM(withOptionalPrefix(src, 'model.', 'decoder.embed_tokens.weight'), parseOptConfig(config, file), config),
  // the LM head is tied to embed_tokens whatever the file holds
  ignoredKeys: () => [/^lm_head\.weight$/],
});
