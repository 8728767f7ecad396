/**
 * A one-line progress bar with rate and ETA on stderr, redrawn in place on a terminal and printed
 * every 10% otherwise (so CI logs stay short). Quiet mode prints nothing.
 */
export class Progress {
  private readonly start = performance.now();
  private lastPrinted = -1;
  private lastDraw = 0;

  constructor(
    readonly label: string,
    readonly total: number,
    readonly opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {},
  ) {}

  update(done: number, suffix = ""): void {
    if (this.opts.quiet) return;
    const stream = this.opts.stream ?? process.stderr;
    const now = performance.now();
    const elapsed = (now - this.start) / 1000;
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const eta = done > 0 ? (elapsed / done) * (this.total - done) : NaN;
    const width = 24;
    const filled = Math.round(fraction * width);
    const line = `${this.label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${this.total} ${formatSeconds(elapsed)} elapsed, ETA ${formatSeconds(eta)}${suffix ? "  " + suffix : ""}`;
    if (stream.isTTY) {
      if (now - this.lastDraw < 100 && done < this.total) return;
      this.lastDraw = now;
      stream.write(`\r${line}\x1b[K${done >= this.total ? "\n" : ""}`);
    } else {
      const decile = Math.floor(fraction * 10);
      if (decile === this.lastPrinted && done < this.total) return;
      this.lastPrinted = decile;
      stream.write(line + "\n");
    }
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
