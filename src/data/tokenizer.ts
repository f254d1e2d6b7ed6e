/** The tokenizer shape the data layer depends on. src/io/tokenizer.ts (HF tokenizer.json,
 * llama2.c tokenizer.bin) implements the same interface; the data layer only needs this
 * much, so it can be tested with a byte-level stand-in. */
export interface ChatMessage {
  role: string;
  content: string;
}

export interface TextTokenizer {
  /** Token ids of `text`; `addBos` prepends bosId when the tokenizer has one. */
  encode(text: string, opts?: { addBos?: boolean }): number[];
  decode(ids: number[]): string;
  bosId: number | null;
  eosId: number | null;
  vocabSize: number;
  /** Renders a conversation with the model's chat template (tokenizer_config.json). */
  applyChatTemplate?(messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean }): string;
  /** Special-token texts (bos_token, eos_token, ...) a chat template sees; see chatTemplates.ts. */
  templateVars?: Record<string, string>;
}
