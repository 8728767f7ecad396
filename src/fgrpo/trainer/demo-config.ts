/**
 * The demo's configuration (`fgrpo demo`): a small Llama trained from scratch on the bundled
 * Amazon Games subset — SFT warm start, then F-GRPO and GRPO at the same budget — sized to finish
 * in under 15 minutes on 2 CPU cores. The recipe is the study's (docs/results.md, section 8.3;
 * docs/results-rl-study.md, section 5): the model reranks item-kNN's order, SFT at lr 1e-3 with
 * dropout 0.5 and early stopping on all validation users, RL at lr 5e-4. configs/demo.json holds
 * the same values for users to copy (a test keeps the two equal).
 */
export const DEMO_CONFIG = {
  name: "demo",
  seed: 0,
  threads: 1,
  blas_threads: 1,
  output_dir: "runs/demo",
  task: { task: "rec", negatives: "random", first_stage: "itemknn", pool_order: "first_stage", eval_examples: 688, eval_split: "valid" },
  model: { hidden_size: 128, num_layers: 2, num_heads: 4, num_kv_heads: 4, intermediate_size: 256, item_embedding_init: "cooccurrence" },
  sft: { max_steps: 2000, batch_size: 32, learning_rate: 0.001, warmup_steps: 20, eval_every: 250, history_loss_weight: 0.3, dropout: 0.5, early_stopping_patience: 3, load_best_model_at_end: true },
  rl: { method: "fgrpo", max_steps: 100, prompts_per_step: 16, num_generations: 8, learning_rate: 0.0005, warmup_steps: 5, eval_every: 20 },
} as const;

/** Methods the demo compares: the warm start, both RL objectives, and classic baselines. */
export const DEMO_METHODS = ["sft", "fgrpo", "grpo", "random", "popularity", "itemknn"];

/** Held-out test users the demo evaluates on: all 688 of the bundled data. */
export const DEMO_TEST_EXAMPLES = 688;
