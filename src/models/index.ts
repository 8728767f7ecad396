/** Models: the Llama-family decoder, its configs, KV stores, checkpoint loaders and tokenizers. */
export { type LlamaConfig, type ModelType, type RopeScaling, configFromHF, configToHF, validateConfig, presets } from "./config.js";
export { LlamaModel, parameterShapes, type ForwardOptions } from "./llama.js";
export { KVCache, RecordingKV, PrefixKV, SharedPrefixCache, type KVStore } from "./kv-cache.js";
export { loadLlama2c, readLlama2cHeader } from "./llama2c.js";
export { loadHfModel, saveHfCheckpoint, saveTokenizer, loadFolderTokenizer, type HfLoadOptions, type HfSaveOptions } from "./hf.js";
export { loadCheckpoint, loadTokenizer, type LoadedCheckpoint } from "./checkpoint.js";
export { TaskVocab } from "./task-vocab.js";
export * from "./tokenizers/index.js";
