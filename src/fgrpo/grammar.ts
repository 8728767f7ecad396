/**
 * The rollout grammar in one import: layout, parser and taxonomy, both tokenizations, and the
 * constrained-decoding automata.
 */
export * from "./layout.js";
export * from "./parse-core.js";
export * from "./grammar-text.js";
export * from "./grammar-tokens.js";
export * from "./automaton-vocab.js";
export * from "./automaton-text.js";
export * from "./replay.js";
