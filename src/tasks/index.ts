// The tasks and data layer: one import for the trainer, the CLI and users' scripts.
export type { PoolCandidate, RankingExample, TaskName, LoadReport, SkippedRecord, OnError } from "./types.js";
export { describeReport, mergeReports } from "./load-report.js";
export { loadTaskData, type TaskData, type TaskDataOptions, type SplitName } from "./task-data.js";
export { BUNDLED_DATA_DIR, BUNDLED_GAMES_DIR, BUNDLED_HOTPOTQA_FILES } from "./bundled.js";
// Recommendation.
export { catalogOf, recStats, type RecDataset } from "./rec/dataset.js";
export { loadRecData, detectRecFormat, type RecFormat, type RecLoadOptions } from "./rec/load.js";
export { loadRecBoleDir, type RecBoleOptions } from "./rec/recbole.js";
export { loadSequenceLines, loadMovieLens, loadRecJsonl, type MovieLensOptions } from "./rec/sequence-files.js";
export { splitLeaveOneOut, itemCounts, type RecInstance, type RecSplits, type SplitOptions } from "./rec/splits.js";
export { RecPoolBuilder, buildRecExamples, type RecPoolOptions, type RecPoolStats } from "./rec/examples.js";
export { parseNegatives, allocateNegatives, PopularitySampler, type NegativeStrategy, type NegativeMix } from "./pools.js";
// Multi-hop QA.
export type { QaQuestion, QaParagraph } from "./qa/types.js";
export { isComplete } from "./qa/types.js";
export { loadQaFile, loadQaFiles, type QaLoadOptions, type QaLoadResult } from "./qa/load.js";
export { splitQa, QaPoolBuilder, buildQaExamples, type QaSplits, type QaSplitOptions, type QaPoolOptions } from "./qa/examples.js";
// Prompts, SFT targets, vocabulary.
export { promptSymbols, completionSymbols, completionText, textPrompt, poolIdSymbol, itemSymbol, PROMPT_TAGS } from "./prompts.js";
export type { SymbolPromptOptions, TextPromptOptions, TextPrompt, ChatMessage } from "./prompts.js";
export { goldTarget, sftTarget, type GoldTarget, type GoldTargetOptions, type SftTargetKind } from "./gold.js";
// The controlled synthetic task.
export { syntheticExample, syntheticExamples, checkSyntheticOptions, parseSyntheticCandidate, DEFAULT_SYNTHETIC_OPTIONS, type SyntheticOptions, type SyntheticSplit } from "./synthetic/generate.js";
export { AttributeRanker } from "./synthetic/baseline.js";
export { buildTaskVocab, type TaskVocabOptions } from "./vocab.js";
export { Bm25Index, bm25Terms, type Bm25Params } from "./bm25.js";
export { words, truncateWords } from "./text.js";
// Classic baselines.
export * from "./baselines/index.js";
