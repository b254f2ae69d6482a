import type { Progress } from '../engine/methods/progress.js';

const fmt = (ms: number) => {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

/** A one-line progress bar on stderr, redrawn in place on a terminal. */
export function progressPrinter(label: string): (p: Progress) => void {
  let last = 0;
  const tty = process.stderr.isTTY;
  return (p) => {
    const now = Date.now();
    if (now - last < 250 && p.step < p.total) return;
    last = now;
    const width = 24;
    const filled = Math.round((width * p.step) / Math.max(p.total, 1));
    const metrics = Object.entries(p.metrics)
      .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`)
      .join(' ');
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.step}/${p.total} ${fmt(p.elapsedMs)} elapsed, ${fmt(p.etaMs)} left ${metrics}`;
    process.stderr.write(tty ? `\r${line}\x1b[K${p.step >= p.total ? '\n' : ''}` : `${line}\n`);
  };
}
