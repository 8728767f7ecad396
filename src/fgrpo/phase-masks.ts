/**
 * Which phase each completion token belongs to (SPEC §3, token assignment [ours]): slate-span
 * tokens carry A^gen, rank-span tokens A^rank, anything else (whitespace between the spans) no
 * advantage. Plain typed arrays; the trainer turns them into [R, L] tensors.
 */
import type { Span } from "./parse-core.js";

export const PHASE_OTHER = 0;
export const PHASE_SLATE = 1;
export const PHASE_RANK = 2;

/** The spans a parser found (ParsedRollout has them). */
export interface PhaseSpans {
  slateSpan: Span | null;
  rankSpan: Span | null;
}

function checkSpan(span: Span | null, length: number, name: string): void {
  if (span === null) return;
  if (!(Number.isInteger(span.start) && Number.isInteger(span.end) && 0 <= span.start && span.start <= span.end && span.end <= length)) {
    throw new RangeError(`${name} [${span.start}, ${span.end}) does not fit a completion of ${length} tokens`);
  }
}

/** Phase of every token of one completion of `length` tokens (PHASE_OTHER / SLATE / RANK). */
export function phaseIds(spans: PhaseSpans, length: number): Uint8Array {
  checkSpan(spans.slateSpan, length, "slate span");
  checkSpan(spans.rankSpan, length, "rank span");
  const { slateSpan: s, rankSpan: r } = spans;
  if (s !== null && r !== null && s.start < r.end && r.start < s.end) {
    throw new RangeError(`slate span [${s.start}, ${s.end}) overlaps rank span [${r.start}, ${r.end})`);
  }
  const out = new Uint8Array(length);
  if (s !== null) out.fill(PHASE_SLATE, s.start, s.end);
  if (r !== null) out.fill(PHASE_RANK, r.start, r.end);
  return out;
}

/** Row-major [rows × width] 0/1 masks; positions past a completion's length are 0 in all of them. */
export interface BatchPhaseMasks {
  rows: number;
  width: number;
  slate: Float32Array;
  rank: Float32Array;
  other: Float32Array;
  /** slate + rank + other: 1 on every completion token. */
  completion: Float32Array;
}

/** Masks for a batch of completions padded to `width` tokens. */
export function batchPhaseMasks(rollouts: readonly (PhaseSpans & { length: number })[], width: number): BatchPhaseMasks {
  const rows = rollouts.length;
  const m: BatchPhaseMasks = {
    rows,
    width,
    slate: new Float32Array(rows * width),
    rank: new Float32Array(rows * width),
    other: new Float32Array(rows * width),
    completion: new Float32Array(rows * width),
  };
  rollouts.forEach((r, i) => {
    if (r.length > width) throw new RangeError(`completion ${i} has ${r.length} tokens, more than the width ${width}`);
    const ids = phaseIds(r, r.length);
    const base = i * width;
    for (let t = 0; t < r.length; t++) {
      const target = ids[t] === PHASE_SLATE ? m.slate : ids[t] === PHASE_RANK ? m.rank : m.other;
      target[base + t] = 1;
      m.completion[base + t] = 1;
    }
  });
  return m;
}
