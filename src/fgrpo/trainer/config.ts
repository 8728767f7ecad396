/**
 * The one documented training configuration (TRL's GRPOConfig style): every field has a doc
 * comment, every non-obvious default names where it comes from, and the whole object is
 * validated at load time with messages naming the field and the allowed values.
 *
 * A config file is JSON; any field can be overridden with `--set path.to.field=value`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { InputError } from "../../util/errors.js";
import { readJsonFile } from "../../util/json-file.js";
import { checkSyntheticOptions, DEFAULT_SYNTHETIC_OPTIONS as SYN } from "../../tasks/synthetic/generate.js";
import { parseNegatives } from "../../tasks/pools.js";

const positiveInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const nonNeg = z.number().nonnegative();
const schedule = z.enum(["constant", "linear", "cosine"]);

/** The synthetic task's generator (docs/tasks.md, "Synthetic task"); pool size and seed are task.pool_size and seed. */
export const SyntheticSection = z.object({
  /** Gold candidates per pool (the query's category): the optimal slate's size. */
  gold_size: positiveInt.default(SYN.goldSize),
  /** Distinct categories (≥ 2). */
  categories: positiveInt.default(SYN.categories),
  /** Grade levels 1…grades (≥ gold_size: gold grades are distinct). */
  grades: positiveInt.default(SYN.grades),
  /** Probability that a gold candidate shows a random grade instead of its true one. */
  grade_noise: z.number().min(0).lt(1).default(SYN.gradeNoise),
  /** Prompts generated per split. */
  examples: z.object({
    train: positiveInt.default(SYN.examples.train),
    valid: positiveInt.default(SYN.examples.valid),
    test: positiveInt.default(SYN.examples.test),
  }).strict().default({}),
}).strict();

export const TaskSection = z.object({
  /** `rec` (sequential recommendation), `qa` (multi-hop QA) or `synthetic` (the controlled task, docs/tasks.md, "Synthetic task"). */
  task: z.enum(["rec", "qa", "synthetic"]).default("rec"),
  /** Data paths (see docs/tasks.md); null = the bundled data. */
  data: z.union([z.string().transform((s) => [s]), z.array(z.string())]).nullable().default(null),
  /** N, candidates per pool (20 [summary]). */
  pool_size: positiveInt.default(20),
  /** Rec negatives: random | popularity | retriever. */
  negatives: z.enum(["random", "popularity", "retriever"]).default("random"),
  /**
   * Rec: negatives of the *training* pools only, when they should differ from the evaluation
   * protocol's: a strategy or a mix such as "popularity:10,random:9"; null = `negatives`. With
   * uniform negatives a pool's one popular item is usually the target, so a model can score well
   * on popularity alone and never learn to rank rare targets (docs/results-scale.md); popularity-
   * sampled negatives in training make history evidence, not popularity, tell them apart.
   */
  train_negatives: z.string().nullable().default(null).superRefine((v, ctx) => {
    if (v === null) return;
    try { parseNegatives(v); } catch (e) { ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message }); }
  }),
  /**
   * Rec: the classic model whose order fills SFT slates after the gold item ("retriever order",
   * SPEC §5) for pools without a retriever list, and whose order pools are shown in under
   * `pool_order: first_stage`; null = none (filler falls back to random, pools are shuffled).
   * item-kNN: the strongest classic model on the Amazon data (docs/results.md, section 8).
   */
  first_stage: z.enum(["popularity", "itemknn", "markov"]).nullable().default("itemknn"),
  /**
   * Rec: the order a pool is shown in. `shuffled` (SPEC: position carries no signal [ours]) or
   * `first_stage`, the order of `first_stage` (the model reranks it, as RankGPT-style rerankers
   * read a retriever's order); training pools are then ordered by the first stage fit without the
   * prefix's own user, so the order is as informative in training as in evaluation. null =
   * `first_stage` for rec with a first stage and one pool order (the reranker beat item-kNN where
   * shuffled pools did not: docs/results.md, section 8.3), `shuffled` otherwise (see poolOrderOf).
   */
  pool_order: z.enum(["shuffled", "first_stage"]).nullable().default(null),
  /** Training prompts used (the first ones of the seeded, shuffled training split); null = all. */
  train_examples: positiveInt.nullable().default(null),
  /**
   * Orders of each training pool: 1 = as built; K > 1 adds K − 1 copies with the candidates
   * reshuffled, so a "[i]" label cannot be memorised per question (docs/results-qa-study.md, §5).
   */
  train_pool_orders: positiveInt.default(1),
  /** Prompts of the evaluation split used for validation during training. */
  eval_examples: positiveInt.default(200),
  /**
   * Which evaluation prompts a limit (`eval_examples`, compare's `--examples`) keeps: `head`, the
   * first N of the file, or `random`, a fixed seeded sample of N in file order (the same users for
   * every seed and method). The head of a file can differ from its population: Amazon Beauty's
   * first users have longer histories, and item-kNN ranks below popularity on them and far above
   * it on all users (docs/results-scale.md).
   */
  eval_sample: z.enum(["head", "random"]).default("head"),
  /** Split used for validation during training. */
  eval_split: z.enum(["valid", "test"]).default("valid"),
  /** Most history items shown in a rec prompt (the most recent ones). */
  max_history: positiveInt.default(20),
  /** QA: words kept per passage in prompts. */
  max_passage_words: positiveInt.default(24),
  /**
   * Text mode (a model.checkpoint with tokenizer.json): a prompt template file (JSON, see
   * docs/training.md and configs/prompts/); null = the task's built-in template.
   */
  prompt_template: z.string().nullable().default(null),
  /** Synthetic task only: the generator's settings. */
  synthetic: SyntheticSection.default({}),
}).strict();

export const LayoutSection = z.object({
  /** n_max, most ids in the slate (10 [summary]; 5 limits coverage, 15 adds noise). */
  n_max: positiveInt.default(10),
  /** k_max, most ids in the ranking and the NDCG cutoff of the rank reward (5 [summary]). */
  k_max: positiveInt.default(5),
  /**
   * How the completion names a candidate [ours]: `pool_id` — its "[i]" label (RankGPT, SPEC §1);
   * `item` — its own item token (rec only), falling back to "[i]" for items the vocabulary lacks.
   * A model trained from scratch learns `item` far faster: an item's embedding can carry its
   * score, while "[i]" must be copied from wherever the item sits in the prompt. null = `item`
   * for rec and synthetic, `pool_id` for QA (passages are not single tokens).
   */
  id_tokens: z.enum(["pool_id", "item"]).nullable().default(null),
}).strict();

/** LoRA adapters (PEFT's LoraConfig; defaults as in common Qwen/TRL recipes: all seven projections). */
export const LoraSection = z.object({
  /** Rank r of each update. */
  r: positiveInt.default(16),
  /** lora_alpha: updates are scaled by alpha / r. */
  alpha: z.number().positive().default(32),
  /** Dropout on the adapters' inputs in training forwards. */
  dropout: z.number().min(0).lt(1).default(0.05),
  /** Projections that get an adapter. */
  target_modules: z.array(z.enum(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])).min(1)
    .default(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
}).strict();

export const ModelSection = z.object({
  /** A checkpoint folder to start from (HF layout, ours or another tool's); null = a new model. */
  checkpoint: z.string().nullable().default(null),
  /** Width of a new model. */
  hidden_size: positiveInt.default(128),
  num_layers: positiveInt.default(2),
  num_heads: positiveInt.default(4),
  num_kv_heads: positiveInt.default(4),
  /** SwiGLU inner width of a new model. */
  intermediate_size: positiveInt.default(256),
  /** Tie the output head to the token embeddings. */
  tie_word_embeddings: z.boolean().default(true),
  /**
   * Item-token embeddings of a new rec model: `random` (N(0, 0.02)) or `cooccurrence` (item-kNN's
   * co-occurrence similarities over the training sequences, projected to hidden_size; see
   * trainer/item-embeddings.ts). Ignored for QA and when starting from a checkpoint. Default
   * `cooccurrence`: with the history loss it reached validation ndcg@5 0.4649 against 0.4517 from
   * a random start on Games (docs/results.md, section 4).
   */
  item_embedding_init: z.enum(["random", "cooccurrence"]).default("cooccurrence"),
  /**
   * Train LoRA adapters instead of every weight (docs/lora.md); null = full fine-tuning. The base
   * weights are frozen; with rl.beta > 0 the reference is the base model (adapters switched off).
   * Saved models hold the merged weights, and the adapter in PEFT's format under adapter/.
   */
  lora: LoraSection.nullable().default(null),
  /** Recompute each decoder layer's activations in backward instead of keeping them (CPU only). */
  gradient_checkpointing: z.boolean().default(false),
}).strict();

/** Optimisation settings shared by SFT and RL. */
const optimisation = {
  learning_rate: z.number().positive(),
  /** Linear warm-up steps from 0 to the learning rate. */
  warmup_steps: nonNegInt.default(0),
  /** Decay after warm-up: constant, linear to 0, or cosine to 0. */
  lr_scheduler_type: schedule.default("cosine"),
  /** AdamW decoupled weight decay. */
  weight_decay: nonNeg.default(0.0),
  adam_beta1: z.number().min(0).lt(1).default(0.9),
  adam_beta2: z.number().min(0).lt(1).default(0.999),
  /** Global gradient-norm clip (0 = off). */
  max_grad_norm: nonNeg.default(1.0),
  /** Validation every this many steps (0 = only at the end). */
  eval_every: nonNegInt.default(0),
  /** Checkpoint every this many steps (0 = only at the end). */
  save_every: nonNegInt.default(0),
};

export const SftSection = z.object({
  ...optimisation,
  /** 1e-3 with dropout 0.5: the validation choice for the reranker (docs/results.md, section 8.3). */
  learning_rate: z.number().positive().default(1e-3),
  warmup_steps: nonNegInt.default(20),
  /** Training steps (batches); 0 skips SFT (e.g. when model.checkpoint is already fine-tuned). */
  max_steps: nonNegInt.default(400),
  /** Prompts per batch. */
  batch_size: positiveInt.default(32),
  /** Non-gold items that fill the gold slate (SPEC §5): retriever order, random, or pool order. */
  filler: z.enum(["retriever", "random", "pool"]).default("retriever"),
  /**
   * What SFT teaches [ours]: `gold` (default) — the gold slate and its gold ranking; `slate_only` —
   * the gold slate, ranked in a random order; `rank_only` — a random slate, ranked as the gold
   * grades order it (gold first, highest grade first). The last two give RL a start where one
   * phase is solved and the other is not (docs/results-synthetic.md).
   */
  target: z.enum(["gold", "slate_only", "rank_only"]).default("gold"),
  /**
   * Dropout on the embeddings and on every residual branch during SFT steps only (SASRec's
   * regulariser; 0 = off). RL never drops: its ratios need the sampling and the scoring passes to
   * compute the same distribution. null = SFT_DROPOUT for a rec task on a task-vocabulary model
   * (small models trained from scratch on sparse data), 0 otherwise (QA, and text models, which
   * are fine-tuned without dropout); see sftDropoutOf.
   */
  dropout: z.number().min(0).lt(1).nullable().default(null),
  /**
   * Stop SFT after this many validations in a row without a new best validation ndcg@5
   * (HF's EarlyStoppingCallback; 0 = never). Needs eval_every > 0.
   */
  early_stopping_patience: nonNegInt.default(0),
  /**
   * At the end of SFT, load the weights of the best validation checkpoint (HF's
   * load_best_model_at_end), so RL, `final/` and results start from the model validation chose.
   */
  load_best_model_at_end: z.boolean().default(false),
  /**
   * Weight of a causal next-item loss on the prompt's history (SASRec's objective [ours]): at each
   * history item, cross-entropy of the next history item over the item tokens, added to the
   * completion loss in the same forward pass. The completion gives about one informative target
   * per prompt; the history gives one per history item, and teaches item transitions in the
   * embeddings the item-token slate is written with. Rec with a task vocabulary only; 0 = off;
   * null = HISTORY_LOSS_WEIGHT for a rec task on a task-vocabulary model, off otherwise (QA and
   * text models have no item tokens to predict), so one default serves every task.
   */
  history_loss_weight: z.number().min(0).nullable().default(null),
  /**
   * Weight averaging (timm's ModelEmaV2): validation, the best checkpoint and the SFT result use
   * an exponential moving average of the parameters with this decay (warmed up as
   * min(decay, (1 + n) / (10 + n)) over the first updates; trainer/ema.ts); training itself is
   * unchanged. null = off.
   */
  ema_decay: z.number().gt(0).lt(1).nullable().default(null),
}).strict();

export const RlSection = z.object({
  ...optimisation,
  /** The objective: fgrpo (default), grpo, gspo, gspo_token. */
  method: z.enum(["fgrpo", "grpo", "gspo", "gspo_token"]).default("fgrpo"),
  learning_rate: z.number().positive().default(5e-4),
  warmup_steps: nonNegInt.default(10),
  /** RL steps; each samples a fresh rollout batch (0 = SFT only). */
  max_steps: nonNegInt.default(100),
  /** B, prompts per step. */
  prompts_per_step: positiveInt.default(16),
  /** G, rollouts per prompt (8 [summary]). */
  num_generations: z.number().int().min(2).default(8),
  /** μ, passes over each rollout batch (1 = on-policy: every ratio is 1). */
  num_iterations: positiveInt.default(1),
  /** Minibatches each pass is split into (one optimizer update per minibatch). */
  num_minibatches: positiveInt.default(1),
  /** Sampling temperature (1.0 [summary]). */
  temperature: z.number().positive().default(1.0),
  /** Nucleus sampling threshold (1 = off). RL needs 1: scoring cannot replay the truncation. */
  top_p: z.number().gt(0).max(1).default(1.0),
  /** Top-k sampling (0 = off; RL needs it off, see top_p). */
  top_k: nonNegInt.default(0),
  /** Longest completion in tokens; null = the longest valid rollout of the layout. */
  max_completion_length: positiveInt.nullable().default(null),
  /**
   * Lower clip ε; null = the method's preset (sequence-level GSPO/F-GRPO 3e-4, token-level GRPO
   * 0.2). A value set here applies to every method (in `compare` too).
   */
  epsilon: z.number().positive().nullable().default(null),
  /**
   * Upper clip ε_high; null = `epsilon` when that is set (a symmetric range), else the method's
   * preset (GSPO/F-GRPO 4e-4 [GSPO paper], GRPO 0.2).
   */
  epsilon_high: z.number().positive().nullable().default(null),
  /** KL coefficient β (0 [summary]: no reference model is kept). */
  beta: nonNeg.default(0),
  /** λ, weight of the rank objective / rank reward (1.0 [summary]; 0.5 was worse). */
  rank_weight: nonNeg.default(1.0),
  /**
   * GRPO token aggregation, as in TRL (grpo: per-sequence token mean, SPEC §4; dapo, TRL's
   * default: token mean over the global batch; bnpo: token mean over each rank's batch).
   */
  loss_type: z.enum(["grpo", "bnpo", "dapo", "dr_grpo"]).default("grpo"),
  /** Advantage scaling: none (Dr. GRPO, default), group or batch std. */
  scale_rewards: z.enum(["none", "group", "batch"]).default("none"),
  /** Coverage reward of the slate: recall (default), f1, hit. */
  coverage_reward: z.enum(["recall", "f1", "hit"]).default("recall"),
  /** NDCG gain: linear (trec_eval, default) or exponential. */
  utility_gain: z.enum(["linear", "exponential"]).default("linear"),
  /** NDCG ideal: absolute (default) or slate_conditional (IDCG over gold ∩ slate). */
  utility_idcg: z.enum(["absolute", "slate_conditional"]).default("absolute"),
  /** Reward of both phases for an invalid rollout (−1 [ours]). */
  format_penalty: z.number().default(-1),
  /** Mask tokens that would make a rollout invalid (on by default [ours]). */
  constrained_decoding: z.boolean().default(true),
  /** Skipped steps (NaN/Inf loss or gradient) in a row before the run stops. */
  max_consecutive_failures: positiveInt.default(3),
}).strict();

/**
 * What `fgrpo compare --config FILE` runs, so that an experiment file reproduces its table
 * (docs/results-rl-study.md); `fgrpo train` ignores it. Command-line flags take precedence.
 */
export const CompareSection = z.object({
  /** Methods compared: built-in names or keys of `rl_overrides` (named variants); [] = `--methods`. */
  methods: z.array(z.string().min(1)).default([]),
  /** Seeds run and pooled; [] = the config's `seed` (or `--seeds`). */
  seeds: z.array(nonNegInt).default([]),
  /**
   * Per-method changes to the rl section (each method's chosen learning rate, a loss_type). A key
   * that is not a built-in method names a variant and must set `method`, e.g.
   * `"grpo-drgrpo": { "method": "grpo", "loss_type": "dr_grpo" }`.
   */
  rl_overrides: z.record(z.string().min(1), RlSection.partial()).default({}),
  /**
   * Per-method changes to the sft section, for the decoupled pipelines only (they fine-tune their
   * own stages; the other methods share one SFT start), e.g. `"decoupled-sft": { "max_steps": 300 }`.
   */
  sft_overrides: z.record(z.string().min(1), SftSection.partial()).default({}),
}).strict();

export const TrainConfigSchema = z.object({
  /** A name for the run (folder names, reports). */
  name: z.string().min(1).default("run"),
  /** One seed drives data order, pools, sampling and initialisation. */
  seed: nonNegInt.default(0),
  /** Where checkpoints, logs and results go. */
  output_dir: z.string().min(1).default("runs/run"),
  /** Intra-op threads of libtorch (0 = the engine's default, 1). */
  threads: nonNegInt.default(0),
  /** Threads of the BLAS library (0 = the engine's default, one per core). Small models run fastest with 1. */
  blas_threads: nonNegInt.default(0),
  task: TaskSection.default({}),
  layout: LayoutSection.default({}),
  model: ModelSection.default({}),
  sft: SftSection.default({}),
  rl: RlSection.default({}),
  compare: CompareSection.default({}),
}).strict();

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type RlConfig = z.infer<typeof RlSection>;
export type SftConfig = z.infer<typeof SftSection>;

/**
 * The history-loss weight a rec run on a task-vocabulary model gets when `sft.history_loss_weight`
 * is null: the weight validation chose on Games (docs/results.md, sections 4 and 5).
 */
export const HISTORY_LOSS_WEIGHT = 0.3;

/**
 * The history-loss weight of a run: the configured one, or for null the default when the task is
 * rec and the policy has item tokens (`taskVocab`), else 0.
 */
export function historyLossWeightOf(c: TrainConfig, taskVocab: boolean): number {
  return c.sft.history_loss_weight ?? (c.task.task === "rec" && taskVocab ? HISTORY_LOSS_WEIGHT : 0);
}

/**
 * The SFT dropout a rec run on a task-vocabulary model gets when `sft.dropout` is null: SASRec's
 * sparse-data setting, the validation choice with lr 1e-3 on Games and Beauty (docs/results.md,
 * section 8.3).
 */
export const SFT_DROPOUT = 0.5;

/** The SFT dropout of a run: the configured one, or for null SFT_DROPOUT on rec with item tokens, else 0. */
export function sftDropoutOf(c: TrainConfig, taskVocab: boolean): number {
  return c.sft.dropout ?? (c.task.task === "rec" && taskVocab ? SFT_DROPOUT : 0);
}

/**
 * The order pools are shown in: the configured one, or for null the first stage's order on a rec
 * task that has a first stage and one pool order per prompt, else shuffled.
 */
export function poolOrderOf(c: TrainConfig): "shuffled" | "first_stage" {
  if (c.task.pool_order !== null) return c.task.pool_order;
  return c.task.task === "rec" && c.task.first_stage !== null && c.task.train_pool_orders === 1 ? "first_stage" : "shuffled";
}

/** How completions name candidates, after the task default (item tokens for rec, "[i]" for QA). */
export function idTokensOf(c: TrainConfig): "pool_id" | "item" {
  return c.layout.id_tokens ?? (c.task.task === "qa" ? "pool_id" : "item");
}

/** The per-method clip presets used when `rl.epsilon` is null (GSPO paper: 3e-4 / 4e-4; GRPO: 0.2). */
export function clipPreset(method: RlConfig["method"]): { epsilon: number; epsilonHigh: number } {
  const sequenceLevel = method === "fgrpo" || method === "gspo" || method === "gspo_token";
  return sequenceLevel ? { epsilon: 3e-4, epsilonHigh: 4e-4 } : { epsilon: 0.2, epsilonHigh: 0.2 };
}

/**
 * Clip bounds of a config. The two ends are one setting: an `epsilon` given alone makes the range
 * symmetric (ε_high = ε), never [1 − ε, 1 + preset ε_high] (which for F-GRPO/GSPO would be
 * [0.8, 1.0004] at ε = 0.2). With neither set, the method's preset pair; `epsilon_high` alone
 * widens the preset's upper end (DAPO's clip-higher).
 */
export function clipBounds(rl: RlConfig): { epsilon: number; epsilonHigh: number } {
  if (rl.epsilon !== null) return { epsilon: rl.epsilon, epsilonHigh: rl.epsilon_high ?? rl.epsilon };
  const preset = clipPreset(rl.method);
  return { epsilon: preset.epsilon, epsilonHigh: rl.epsilon_high ?? preset.epsilonHigh };
}

/**
 * The config with every null that means "chosen for you" replaced by what the run uses
 * (`--print-config`): pool order, id tokens, SFT dropout and history-loss weight, the clip pair.
 * `taskVocab` is false for a text checkpoint. Nulls that mean "none" or "all" (first_stage,
 * checkpoint, train_examples, ema_decay, …) stay, and so does max_completion_length, which a text
 * model's tokenizer decides. Feeding the result back to parseConfig gives the same run.
 */
export function resolveDefaults(c: TrainConfig, taskVocab: boolean): TrainConfig {
  const clip = clipBounds(c.rl);
  return {
    ...c,
    task: { ...c.task, pool_order: poolOrderOf(c) },
    layout: { ...c.layout, id_tokens: idTokensOf(c) },
    sft: { ...c.sft, dropout: sftDropoutOf(c, taskVocab), history_loss_weight: historyLossWeightOf(c, taskVocab) },
    rl: { ...c.rl, epsilon: clip.epsilon, epsilon_high: clip.epsilonHigh },
  };
}

/** Parses and validates a config object; `source` names the file in errors. */
export function parseConfig(value: unknown, source = "<config>"): TrainConfig {
  const r = TrainConfigSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.join(".") || "(root)";
    throw new InputError(describeIssue(issue), { file: source, field });
  }
  checkConsistency(r.data, source);
  return r.data;
}

/**
 * Whether a run folder's stored config is the current one. Both go through the schema first, so a
 * folder written before a field with a default existed still resumes under that default (the
 * behaviour it ran with); a stored config the schema now rejects is a different config. Both are
 * compared resolved (`resolveDefaults`): null and the value it resolves to are the same run.
 */
export function sameConfig(stored: unknown, current: unknown): boolean {
  try {
    return JSON.stringify(resolvedOf(parseConfig(stored))) === JSON.stringify(resolvedOf(parseConfig(current)));
  } catch {
    return false;
  }
}

/** A config with its null-means-chosen fields resolved, so `--print-config` output resumes a run made with nulls. */
function resolvedOf(c: TrainConfig): TrainConfig {
  return resolveDefaults(c, c.model.checkpoint === null || !isTextPolicyFolder(c.model.checkpoint));
}

/** True when a folder is a pretrained text model (it has tokenizer.json, not our vocab.json). */
export function isTextPolicyFolder(folder: string): boolean {
  return existsSync(join(folder, "tokenizer.json")) && !existsSync(join(folder, "vocab.json"));
}

function describeIssue(issue: z.ZodIssue): string {
  if (issue.code === "invalid_enum_value") return `must be one of ${issue.options.map((o) => JSON.stringify(o)).join(", ")}, got ${JSON.stringify(issue.received)}`;
  if (issue.code === "unrecognized_keys") return `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
  return issue.message;
}

/** Rejects values that are each valid but do not fit together, before any work starts. */
function checkConsistency(c: TrainConfig, file: string): void {
  const fail = (field: string, msg: string) => {
    throw new InputError(msg, { file, field });
  };
  if (c.rl.top_p < 1 || c.rl.top_k > 0) {
    fail(c.rl.top_p < 1 ? "rl.top_p" : "rl.top_k", "top-p/top-k truncation cannot be replayed when scoring rollouts, so the trained and the sampled distributions would differ; use temperature only");
  }
  if (c.layout.id_tokens === "item" && c.task.task === "qa") fail("layout.id_tokens", `"item" needs single-token candidates (task rec or synthetic); use "pool_id" for ${c.task.task}`);
  if (c.layout.n_max > c.task.pool_size) fail("layout.n_max", `n_max (${c.layout.n_max}) exceeds the pool size (${c.task.pool_size})`);
  if (c.layout.k_max > c.layout.n_max) fail("layout.k_max", `k_max (${c.layout.k_max}) exceeds n_max (${c.layout.n_max}): the ranking is drawn from the slate`);
  if (c.model.hidden_size % c.model.num_heads !== 0) fail("model.hidden_size", `hidden_size (${c.model.hidden_size}) must be divisible by num_heads (${c.model.num_heads})`);
  if (c.model.num_heads % c.model.num_kv_heads !== 0) fail("model.num_kv_heads", `num_heads (${c.model.num_heads}) must be a multiple of num_kv_heads (${c.model.num_kv_heads})`);
  const rollouts = c.rl.prompts_per_step * c.rl.num_generations;
  if (rollouts % c.rl.num_minibatches !== 0) fail("rl.num_minibatches", `${rollouts} rollouts per step (prompts_per_step × num_generations) do not split into ${c.rl.num_minibatches} equal minibatches`);
  if (c.rl.prompts_per_step % c.rl.num_minibatches !== 0 && c.rl.method !== "grpo") {
    fail("rl.num_minibatches", `minibatches must hold whole groups: prompts_per_step (${c.rl.prompts_per_step}) is not divisible by num_minibatches (${c.rl.num_minibatches})`);
  }
  // The shortest valid completion: <SLATE> id </SLATE> <RANK> id </RANK> <eos>. Below it every
  // rollout is cut off invalid and scores the format penalty: nothing to learn from.
  const shortest = 7;
  if (c.rl.max_completion_length !== null && c.rl.max_completion_length < shortest) {
    fail("rl.max_completion_length", `${c.rl.max_completion_length} tokens cannot hold any valid completion (the shortest, <SLATE> id </SLATE> <RANK> id </RANK> <eos>, has ${shortest})`);
  }
  const b = clipBounds(c.rl);
  if (b.epsilon >= 1) fail("rl.epsilon", `epsilon must be < 1, got ${b.epsilon}`);
  if (c.rl.max_steps > 0 && c.rl.warmup_steps > c.rl.max_steps) fail("rl.warmup_steps", `warmup_steps (${c.rl.warmup_steps}) exceeds max_steps (${c.rl.max_steps})`);
  if (c.sft.max_steps > 0 && c.sft.warmup_steps > c.sft.max_steps) fail("sft.warmup_steps", `warmup_steps (${c.sft.warmup_steps}) exceeds max_steps (${c.sft.max_steps})`);
  if (c.sft.early_stopping_patience > 0 && c.sft.eval_every === 0) fail("sft.early_stopping_patience", "early stopping needs validations during SFT: set sft.eval_every > 0");
  if (c.task.pool_order === "first_stage" && c.task.train_pool_orders > 1) {
    fail("task.train_pool_orders", "task.train_pool_orders > 1 reshuffles training pools, which task.pool_order first_stage shows in the first stage's order: use one or the other");
  }
  if (c.task.task === "synthetic") checkSynthetic(c, fail);
  if ((c.sft.history_loss_weight ?? 0) > 0 && c.task.task !== "rec") fail("sft.history_loss_weight", `the history loss needs a rec task (item histories), got task ${c.task.task}`);
}

/** The synthetic generator's own checks, with its option names mapped to config fields. */
function checkSynthetic(c: TrainConfig, fail: (field: string, msg: string) => void): void {
  const s = c.task.synthetic;
  if (c.task.data !== null) fail("task.data", "the synthetic task generates its data: leave task.data null");
  const problem = checkSyntheticOptions({ poolSize: c.task.pool_size, goldSize: s.gold_size, categories: s.categories, grades: s.grades, gradeNoise: s.grade_noise, examples: s.examples, seed: c.seed });
  if (problem) {
    const names: Record<string, string> = { poolSize: "task.pool_size", goldSize: "task.synthetic.gold_size", categories: "task.synthetic.categories", grades: "task.synthetic.grades", gradeNoise: "task.synthetic.grade_noise", seed: "seed" };
    fail(names[problem.field] ?? `task.synthetic.${problem.field}`, problem.message);
  }
  if (c.layout.n_max < s.gold_size) fail("layout.n_max", `n_max (${c.layout.n_max}) is smaller than task.synthetic.gold_size (${s.gold_size}): the gold slate would not fit`);
}

/** Reads a JSON config file; errors name the file (and the line of a syntax error). */
export function readConfigFile(file: string): unknown {
  let value: unknown;
  try {
    value = readJsonFile(file);
  } catch (e) {
    if (e instanceof InputError && e.message.includes("cannot read file")) throw new InputError(`cannot read config: ${e.message.split("cannot read file: ")[1]}`, { file });
    throw e;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InputError("a config must be a JSON object", { file });
  return value;
}

/**
 * Applies `--set a.b.c=value` overrides to a raw config object. Values are parsed as JSON when
 * they can be (numbers, booleans, null, arrays), otherwise taken as strings.
 */
export function applyOverrides(raw: unknown, sets: readonly string[]): Record<string, unknown> {
  const root = structuredClone((raw ?? {}) as Record<string, unknown>);
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new InputError(`--set expects key=value, got "${s}"`, { field: s });
    const path = s.slice(0, eq).split(".");
    const bad = path.find((k) => k === "" || k === "__proto__" || k === "constructor" || k === "prototype");
    if (bad !== undefined) throw new InputError(`--set: "${bad === "" ? "(empty)" : bad}" is not a config key`, { field: s.slice(0, eq) });
    const text = s.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    let node = root;
    for (const key of path.slice(0, -1)) {
      if (!Object.hasOwn(node, key) || typeof node[key] !== "object" || node[key] === null) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = value;
  }
  return root;
}

/**
 * The batch hierarchy, printed at the start of RL so a user sees what one step does:
 * prompts × G = rollouts, split into minibatches, μ passes = optimizer updates per step.
 */
export function describeBatchHierarchy(rl: RlConfig, worldSize = 1): string {
  const rollouts = rl.prompts_per_step * rl.num_generations;
  const perMinibatch = rollouts / rl.num_minibatches;
  const updates = rl.num_minibatches * rl.num_iterations;
  const lines = [
    `per step: ${rl.prompts_per_step} prompts × ${rl.num_generations} generations = ${rollouts} rollouts`,
    `          ${rl.num_minibatches} minibatch(es) of ${perMinibatch} rollouts × ${rl.num_iterations} pass(es) = ${updates} optimizer update(s)`,
    updates === 1 ? "          on-policy (one update per batch): every ratio is 1 and clipping does nothing" : "          off-policy updates after the first: ratios and clipping are active",
  ];
  if (worldSize > 1) {
    lines.push(`data parallel: ${worldSize} ranks; effective batch ${rollouts} rollouts, per rank ${rl.prompts_per_step / worldSize} prompts × ${rl.num_generations} = ${rollouts / worldSize} rollouts (${perMinibatch / worldSize} per minibatch)`);
  }
  return lines.join("\n");
}
