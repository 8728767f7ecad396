/** Learning-rate schedules: linear warm-up, then constant, linear or cosine decay to 0. */
export type ScheduleType = "constant" | "linear" | "cosine";

/** The learning rate for step `step` (0-based) of `total`. */
export function learningRateAt(step: number, total: number, peak: number, warmup: number, type: ScheduleType): number {
  if (warmup > 0 && step < warmup) return (peak * (step + 1)) / warmup;
  if (type === "constant") return peak;
  const decaySteps = Math.max(1, total - warmup);
  const progress = Math.min(1, (step - warmup) / decaySteps);
  if (type === "linear") return peak * (1 - progress);
  return peak * 0.5 * (1 + Math.cos(Math.PI * progress));
}
