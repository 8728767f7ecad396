/** Tokenizers: llama2.c's byte-fallback BPE, HF tokenizer.json, and the task vocabulary. */
export { type Tokenizer } from "./tokenizer.js";
export { Llama2cTokenizer } from "./llama2c-bpe.js";
export { HfTokenizer } from "./hf-tokenizer.js";
export { TaskVocabTokenizer } from "./task-vocab-tokenizer.js";
export { ChatTemplate, applyChatTemplate, type ChatMessage, type ChatTemplateOptions } from "./chat-template.js";
