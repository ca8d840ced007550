/** The evaluation tools' progress bar on stderr. */

/** A progress bar on stderr (a line every 10 % when stderr is not a terminal). */
export class Progress {
  private last = -1;
  private readonly tty = process.stderr.isTTY === true;
  private readonly t0 = performance.now();
  constructor(
    private readonly total: number,
    private readonly enabled: boolean,
    private readonly label = 'eval',
  ) {}

  tick(done: number, failed: number): void {
    if (!this.enabled || this.total === 0) return;
    const pct = Math.floor((100 * done) / this.total);
    const elapsed = (performance.now() - this.t0) / 1000;
    const eta = done > 0 ? (elapsed / done) * (this.total - done) : 0;
    if (this.tty) {
      const width = 30;
      const fill = Math.round((width * done) / this.total);
      process.stderr.write(`\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${this.total} ${pct}% failed ${failed} eta ${eta.toFixed(0)}s `);
      if (done === this.total) process.stderr.write('\n');
    } else if (Math.floor(pct / 10) !== this.last || done === this.total) {
      this.last = Math.floor(pct / 10);
      process.stderr.write(`${this.label}: ${done}/${this.total} (${pct}%) failed ${failed} elapsed ${elapsed.toFixed(0)}s eta ${eta.toFixed(0)}s\n`);
    }
  }
}