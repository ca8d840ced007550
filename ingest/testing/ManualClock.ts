/**
 * A PacerClock for tests: time moves only when the test calls `advance`, which runs every
 * timer that falls due, in order (a timer set by a timer runs too if it falls due).
 */
import type { PacerClock, PacerTimer } from '../twilio/MuLawPacer.js';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

export class ManualClock implements PacerClock {
  #now = 0;
  #next = 1;
  #timers: Timer[] = [];

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): PacerTimer {
    const t: Timer = { id: this.#next++, at: this.#now + Math.max(0, ms), fn };
    this.#timers.push(t);
    return t.id;
  }

  clearTimeout(timer: PacerTimer): void {
    this.#timers = this.#timers.filter((t) => t.id !== timer);
  }

  /** Timers waiting. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in time order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = end;
  }
}
