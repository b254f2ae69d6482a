/** What long engine work reports, and how a caller stops it. */
export interface Progress {
  phase: string;
  step: number;
  total: number;
  elapsedMs: number;
  /** Estimate of the time left, from the mean step time so far. */
  etaMs: number;
  metrics: Record<string, number>;
}

export interface RunHooks {
  onProgress?: (p: Progress) => void;
  /** Polled between steps; returning true stops the run with a CancelledError. */
  shouldStop?: () => boolean;
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

/** Tracks step timing for progress events. */
export class ProgressClock {
  private readonly start = performance.now();
  constructor(
    private readonly hooks: RunHooks,
    private readonly phase: string,
    private readonly total: number,
  ) {}

  tick(step: number, metrics: Record<string, number> = {}): void {
    if (this.hooks.shouldStop?.()) throw new CancelledError();
    const elapsedMs = performance.now() - this.start;
    const done = Math.max(step, 1);
    this.hooks.onProgress?.({ phase: this.phase, step, total: this.total, elapsedMs, etaMs: (elapsedMs / done) * Math.max(this.total - step, 0), metrics });
  }
}
