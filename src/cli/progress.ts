import type { RunEvent } from '../train/metricsLog.js';

export type OutputMode = 'progress' | 'quiet' | 'json';

/** Turns run events into what the user sees: a live line on a terminal, plain
 * periodic lines in pipes and CI, JSON lines with --json, nothing with --quiet. */
export function progressPrinter(mode: OutputMode, totalSteps: number, links: number): (e: RunEvent) => void {
  const tty = process.stderr.isTTY === true;
  const start = Date.now();
  let lastPrint = 0;
  let tokens = 0;
  let firstStep: number | null = null; // a resumed run starts past 0: rates count this process's steps
  return (e) => {
    if (mode === 'json') {
      process.stdout.write(JSON.stringify(e) + '\n');
      return;
    }
    if (mode === 'quiet') return;
    if (e.event === 'step') {
      tokens += e['tokens'] as number;
      const step = e['step'] as number;
      firstStep ??= step - 1;
      const elapsed = (Date.now() - start) / 1000;
      const eta = (elapsed / (step - firstStep)) * (totalSteps - step);
      const line =
        `link ${(e['link'] as number) + 1}/${links}  step ${step}/${totalSteps}  epoch ${(e['epoch'] as number).toFixed(2)}  ` +
        `loss ${(e['loss'] as number).toFixed(4)}  lr ${(e['lr'] as number).toExponential(2)}  ${(tokens / Math.max(elapsed, 1e-3)).toFixed(0)} tok/s  ETA ${formatTime(eta)}`;
      if (tty) process.stderr.write(`\r\x1b[2K${line}`);
      else if (Date.now() - lastPrint > 5000 || step === totalSteps || step === firstStep + 1) {
        process.stderr.write(line + '\n');
        lastPrint = Date.now();
      }
      return;
    }
    const fields = Object.entries(e)
      .filter(([k]) => k !== 'event')
      .map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toPrecision(5) : JSON.stringify(v)}`)
      .join(' ');
    process.stderr.write(`${tty ? '\r\x1b[2K' : ''}[${e.event}] ${fields}\n`);
  };
}

function formatTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${Math.round(s % 60)}s` : `${Math.round(s)}s`;
}
