import { registerModelFamily } from '../registry.js';
import { withOptionalPrefix } from '../weightSource.js';
import { parseOptConfig } from './config.js';
import { OPTForCausalLM } from './model.js';

registerModelFamily({
  modelTypes: ['opt'],
  // facebook/opt-* files were saved from OPTModel: their keys start at `decoder.`
  build: (config, src, file) =>
    new OPTForCausalLM(withOptionalPrefix(src, 'model.', 'decoder.embed_tokens.weight'), parseOptConfig(config, file), config),
  // the LM head is tied to embed_tokens whatever the file holds
  ignoredKeys: () => [/^lm_head\.weight$/],
});
