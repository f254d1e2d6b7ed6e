/** Learning-rate schedules. `step` is 0-based: the rate used for update step+1. */
export type ScheduleKind = 'constant' | 'linear' | 'cosine';

export interface Schedule {
  kind: ScheduleKind;
  peak: number;
  warmup: number;
  total: number;
}

/** Warmup linearly from 0 to peak, then constant / linear decay to 0 / cosine to 0
 * (the HF get_*_schedule_with_warmup shapes). */
export function lrAt(s: Schedule, step: number): number {
  if (step < s.warmup) return (s.peak * (step + 1)) / s.warmup;
  if (s.kind === 'constant') return s.peak;
  const span = Math.max(1, s.total - s.warmup);
  const progress = Math.min(1, (step - s.warmup) / span);
  if (s.kind === 'linear') return s.peak * (1 - progress);
  return s.peak * 0.5 * (1 + Math.cos(Math.PI * progress));
}

/** How the schedule treats COLA's knots (method.md: the paper is silent):
 * continue = one schedule over the whole run; restart = a fresh schedule per link;
 * jagged = ReLoRA's: the global schedule, multiplied by a short re-warmup after each knot. */
export type ChainScheduleMode = 'continue' | 'restart' | 'jagged';

export interface LinkSpan {
  start: number; // first global step of the link
  end: number; // one past its last step
  lr: number; // this link's peak rate
}

export function chainLr(mode: ChainScheduleMode, base: Schedule, link: LinkSpan, step: number, rewarmup: number): number {
  const scale = link.lr / base.peak;
  if (mode === 'restart') {
    const local: Schedule = { ...base, peak: link.lr, total: link.end - link.start, warmup: Math.min(base.warmup, link.end - link.start) };
    return lrAt(local, step - link.start);
  }
  const global = lrAt(base, step) * scale;
  if (mode === 'jagged' && link.start > 0) {
    const since = step - link.start;
    if (since < rewarmup) return (global * (since + 1)) / (rewarmup + 1);
  }
  return global;
}
