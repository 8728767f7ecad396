/**
 * Supervised warm start (SPEC §5): teacher forcing on gold-format targets — the slate holds the
 * gold items plus filler from the pool, the ranking puts gold first — with cross-entropy on the
 * completion tokens only. Every RL method starts from its result.
 */
import * as T from "../../torch/index.js";
import type { PolicyModel } from "./policy.js";
import type { LlamaModel } from "../../models/llama.js";
import type { EncodedExample, TaskSetup } from "./data.js";
import type { Rng } from "../../util/random.js";
import { allowedAlong, allowedUnion, type TokenConstraint } from "../../generation/constraint.js";
import { packSequences } from "./sequences.js";
import type { TrainingLoop } from "./loop.js";
import { TaskVocabCodec, type PolicyCodec } from "./policy-codec.js";
import { InputError } from "../../util/errors.js";
import { historyLossWeightOf, type TrainConfig } from "./config.js";
import { itemSymbol, PROMPT_TAGS } from "../../tasks/prompts.js";

export interface SftStepResult {
  loss: number;
  tokenAccuracy: number;
  /** The unweighted history next-item loss, or null when it is off. */
  historyLoss: number | null;
  gradNorm: number | null;
}

/**
 * With constrained decoding the policy is the masked, renormalised distribution (SPEC §1), so
 * SFT fits that distribution: its softmax runs over the allowed tokens only, and every gradient
 * goes to telling the pool's candidates apart. Tokens no step of the batch allows have
 * probability 0 everywhere, so the head runs on the union of the allowed sets only (hundreds of
 * columns against thousands; every column when `restrict` is false): `columns` ascending,
 * `forbidden` bool [N, columns] for every completion token of every pair in order, and
 * `columnOf` mapping a token to its column.
 */
function allowedColumns(pairs: readonly SftPair[], vocabSize: number, restrict: boolean): { columns: number[]; forbidden: T.Tensor; columnOf: Int32Array } {
  const steps = pairs.flatMap((p) => {
    const c = p.constraint!;
    const start = (p.constraintPrefix ?? []).reduce((state, t) => c.advance(state, t), c.initial(0));
    return allowedAlong(c, start, p.completion);
  });
  const { columns, columnOf } = allowedUnion(restrict ? steps : [Int32Array.from({ length: vocabSize }, (_, t) => t)], vocabSize);
  const m = new Uint8Array(steps.length * columns.length).fill(1);
  steps.forEach((a, row) => {
    for (const t of a) m[row * columns.length + columnOf[t]!] = 0;
  });
  return { columns, forbidden: T.tensor(m, { shape: [steps.length, columns.length], dtype: "bool" }), columnOf };
}

/**
 * Mean cross-entropy over the completion tokens of a batch of pairs, with the logits and targets
 * it was computed from (for token accuracy). Constrained, the softmax is over each step's allowed
 * tokens, computed on the allowed columns only unless `restrictToAllowed` is false (the
 * whole-vocabulary form, same values).
 */
export function sftLoss(model: LlamaModel, pairs: readonly SftPair[], padId: number, constrained: boolean, restrictToAllowed = true, dropout = 0, history: HistoryLoss | null = null) {
  const packed = packSequences(pairs.map((p) => p.prompt), pairs.map((p) => p.completion), padId);
  // The head runs only at completion positions (and history positions with the history loss):
  // prompts are most of each row and carry no loss otherwise.
  const hidden = model.forward(packed.input, { hiddenOnly: true, dropout });
  const [b, t, d] = hidden.shape as [number, number, number];
  const positions = lossPositions(packed.targetMask.toFloat32Array());
  const rows = T.tensor(BigInt64Array.from(positions, BigInt));
  const flat = hidden.reshape(b * t, d);
  const selected = flat.indexSelect(0, rows);
  const completion = completionLoss(model, pairs, selected, packed, rows, positions.length, constrained, restrictToAllowed, b * t);
  if (history === null || history.weight === 0) return { ...completion, historyLoss: null };
  const h = historyNextItemLoss(model, pairs, flat, t, history);
  if (h === null) return { ...completion, historyLoss: null };
  return { ...completion, loss: completion.loss.add(h.mul(history.weight)), historyLoss: h };
}

function completionLoss(model: LlamaModel, pairs: readonly SftPair[], selected: T.Tensor, packed: ReturnType<typeof packSequences>, rows: T.Tensor, count: number, constrained: boolean, restrictToAllowed: boolean, flatRows: number) {
  let logits: T.Tensor, targets: T.Tensor;
  if (constrained) {
    const allowed = allowedColumns(pairs, model.config.vocabSize, restrictToAllowed);
    if (allowed.forbidden.size(0) !== count) throw new Error(`sft: ${count} loss positions for ${allowed.forbidden.size(0)} completion tokens`);
    const head = restrictToAllowed ? model.headWeight.indexSelect(0, T.tensor(BigInt64Array.from(allowed.columns, BigInt))) : model.headWeight;
    logits = T.linear(selected, head).maskedFill(allowed.forbidden, -Infinity);
    targets = T.tensor(BigInt64Array.from(pairs.flatMap((p) => p.completion.map((tok) => allowed.columnOf[tok]!)), BigInt));
  } else {
    logits = model.logits(selected);
    targets = packed.targets.reshape(flatRows).indexSelect(0, rows);
  }
  return { loss: T.crossEntropy(logits, targets), logits, targets };
}

/**
 * The history loss's inputs (sft.history_loss_weight): the ids of the tags around the history
 * and of every item token. The next-item softmax runs over the item tokens only (SASRec's
 * full softmax over items), since a history position is always followed by an item.
 */
export interface HistoryLoss {
  weight: number;
  openId: number;
  closeId: number;
  /** Item token ids, ascending. */
  itemIds: readonly number[];
}

/**
 * The history loss of a run, or null when it is off (weight 0, or the null default on a QA task or
 * a text model); an InputError when a weight was set for a policy without item tokens.
 */
export function historyLossOf(config: TrainConfig, codec: PolicyCodec): HistoryLoss | null {
  const weight = historyLossWeightOf(config, codec instanceof TaskVocabCodec);
  if (weight === 0) return null;
  if (!(codec instanceof TaskVocabCodec)) throw new InputError("the history loss needs a task-vocabulary model (one token per item); text models train without it", { field: "sft.history_loss_weight" });
  const v = codec.vocab;
  const itemIds = v.symbols.flatMap((s, id) => (s.startsWith(ITEM_PREFIX) ? [id] : []));
  return { weight, openId: v.id(PROMPT_TAGS.openHistory, true), closeId: v.id(PROMPT_TAGS.closeHistory, true), itemIds };
}

const ITEM_PREFIX = itemSymbol("");

/**
 * Causal next-item cross-entropy on the histories of a batch: at each history position whose
 * next token is a history item, predict that item (the causal mask already hides the rest, so
 * the hidden states of the shared forward pass are the SASRec inputs). Mean over positions;
 * null when no prompt has two history items.
 */
export function historyNextItemLoss(model: LlamaModel, pairs: readonly SftPair[], flatHidden: T.Tensor, width: number, h: HistoryLoss): T.Tensor | null {
  const rows: number[] = [], targets: number[] = [];
  forEachHistoryTarget(pairs, h, (i, t, c) => {
    rows.push(i * width + t);
    targets.push(c);
  });
  if (rows.length === 0) return null;
  const selected = flatHidden.indexSelect(0, T.tensor(BigInt64Array.from(rows, BigInt)));
  const head = model.headWeight.indexSelect(0, T.tensor(BigInt64Array.from(h.itemIds, BigInt)));
  return T.crossEntropy(T.linear(selected, head), T.tensor(BigInt64Array.from(targets, BigInt)));
}

/**
 * Calls `f(pair index, position, item column)` for each history position whose next token is a
 * history item in the vocabulary: position t (input token prompt[t]) predicts prompt[t + 1], both
 * inside <HIST> … </HIST>.
 */
function forEachHistoryTarget(pairs: readonly SftPair[], h: HistoryLoss, f: (i: number, t: number, column: number) => void): void {
  const columnOf = new Map(h.itemIds.map((id, c) => [id, c]));
  pairs.forEach((p, i) => {
    const open = p.prompt.indexOf(h.openId), close = p.prompt.indexOf(h.closeId, open + 1);
    if (open < 0 || close < 0) return;
    for (let t = open + 1; t + 1 < close; t++) {
      const c = columnOf.get(p.prompt[t + 1]!);
      if (c !== undefined) f(i, t, c); // undefined: an item outside the vocabulary (<unk>)
    }
  });
}

/** Positions the history loss averages over in `pairs`. */
export function historyTargetCount(pairs: readonly SftPair[], h: HistoryLoss): number {
  let n = 0;
  forEachHistoryTarget(pairs, h, () => (n += 1));
  return n;
}

/** Completion tokens of `pairs`: what SFT's cross-entropy averages over, so a rank's gradient weight. */
function completionTokens(pairs: readonly SftPair[]): number {
  return pairs.reduce((n, p) => n + p.completion.length, 0);
}

/**
 * The history loss of one data-parallel rank, rescaled so that the ranks' gradients, averaged
 * with weights Nc_r / Nc (completion tokens, as `loop.update` does), give one process's
 * w · (sum of history CEs) / Nh over the whole batch: the rank's mean over its Nh_r positions is
 * multiplied by w · (Nh_r / Nh) · (Nc / Nc_r). `logScale` makes the mean over ranks that the
 * reducing logger takes of `history_loss` equal the whole batch's mean. Every rank holds the whole
 * drawn batch, so the global counts need no communication.
 */
export function rankHistoryLoss(h: HistoryLoss, local: readonly SftPair[], all: readonly SftPair[], worldSize: number): { history: HistoryLoss; logScale: number; inBatch: boolean } {
  const nh = historyTargetCount(all, h), nhr = historyTargetCount(local, h), nc = completionTokens(all), ncr = completionTokens(local);
  if (nh === 0 || nhr === 0 || ncr === 0) return { history: h, logScale: 1, inBatch: nh > 0 };
  return { history: { ...h, weight: h.weight * (nhr / nh) * (nc / ncr) }, logScale: (nhr / nh) * worldSize, inBatch: true };
}

/** Flat indices of the positions whose mask is 1. */
function lossPositions(mask: Float32Array): number[] {
  const out: number[] = [];
  mask.forEach((m, i) => {
    if (m > 0) out.push(i);
  });
  return out;
}

/** A teacher-forcing pair: the loss covers `completion` only. */
export interface SftPair {
  prompt: number[];
  completion: number[];
  /** The grammar automaton of the pair's pool, started after `constraintPrefix`. */
  constraint?: TokenConstraint<unknown>;
  /** Completion tokens the prompt already ends with (the decoupled ranker's given slate). */
  constraintPrefix?: number[];
}

/** The unified model's pair: the prompt, and the gold slate-then-ranking completion (SPEC §5). */
export function unifiedPair(task: TaskSetup, e: EncodedExample, rng: Rng): SftPair {
  return { prompt: e.promptIds, completion: task.goldCompletion(e, rng), constraint: e.constraint as TokenConstraint<unknown> };
}

/**
 * One SFT step on a batch of training examples drawn with the loop's data generator. `pairOf`
 * turns an example into its (prompt, completion) pair: the unified layout by default; the
 * decoupled pipelines train a selector and a ranker on parts of it.
 */
export function sftStep(
  policy: PolicyModel,
  task: TaskSetup,
  loop: TrainingLoop,
  batchSize: number,
  constrained: boolean,
  pairOf: (e: EncodedExample, rng: Rng) => SftPair = (e, rng) => unifiedPair(task, e, rng),
  dropout = 0,
  history: HistoryLoss | null = null,
): SftStepResult {
  const lr = loop.currentLr();
  const batch = Array.from({ length: batchSize }, () => task.train[loop.dataRng.int(task.train.length)]!);
  const drawn = batch.map((e) => pairOf(e, loop.dataRng));
  // Data parallel: every rank draws the whole batch (keeping the data stream in step) and trains on its share.
  const dp = loop.opts.dataParallel;
  const pairs = dp ? dp.share(batchSize).map((i) => drawn[i]!) : drawn;
  // The loss is a mean over completion tokens: ranks weigh their gradients by their token counts.
  const weight = completionTokens(pairs);
  const ranked = dp && history ? rankHistoryLoss(history, pairs, drawn, dp.worldSize) : { history, logScale: 1, inBatch: false };
  const r = T.tidy(() => {
    const { loss, logits, targets, historyLoss } = sftLoss(policy.model, pairs, task.policyCodec.padId, constrained, true, dropout, ranked.history);
    loop.beforeBackward(weight);
    loss.backward();
    const correct = T.noGrad(() => logits.argmax(-1).eq(targets).float().mean().item());
    // A rank without history positions logs 0 (its share of the mean) when another rank has some:
    // the reducing logger needs the same keys on every rank.
    return { loss: loss.item(), tokenAccuracy: correct, historyLoss: historyLoss === null ? (ranked.inBatch ? 0 : null) : historyLoss.item() * ranked.logScale };
  });
  const gradNorm = loop.update(r.loss, weight);
  loop.step += 1;
  // `loss` includes the weighted history term; `history_loss` is that term unweighted.
  const extra = r.historyLoss === null ? {} : { history_loss: r.historyLoss };
  // examples_seen: training examples drawn so far (the whole batch on every rank), SFT's sample count.
  loop.logger.log({ step: loop.step, phase: loop.opts.phase, examples_seen: loop.step * batchSize, loss: loop.lastLoss, token_accuracy: r.tokenAccuracy, ...extra, grad_norm: gradNorm, learning_rate: lr });
  return { loss: loop.lastLoss, tokenAccuracy: r.tokenAccuracy, historyLoss: r.historyLoss, gradNorm };
}
