/** Learning-rate schedules. `step` is 0-based: `lrAt(s, step)` is the rate used for
 * update step+1, which equals Hugging Face's scheduler value after `step`
 * `scheduler.step()` calls (the first optimizer step uses lr_lambda(0)). */
export type ScheduleKind = 'constant' | 'linear' | 'cosine';

export interface Schedule {
  kind: ScheduleKind;
  peak: number;
  warmup: number;
  total: number;
}

/** The multiplier of the peak rate at `step`: transformers' optimization.py,
 * `_get_{constant,linear,cosine}_schedule_with_warmup_lr_lambda` (num_cycles 0.5):
 * - warmup: step / max(1, warmup), so the first update (step 0) uses rate 0;
 * - constant: 1;
 * - linear: max(0, (total - step) / max(1, total - warmup));
 * - cosine: max(0, 0.5 (1 + cos(pi progress))), progress = (step - warmup) / max(1, total - warmup).
 * One deviation: progress is capped at 1, so past `total` cosine stays at 0 where
 * HF's would climb again; no run reaches it (the last update is step total-1). */
function lrFactor(s: Omit<Schedule, 'peak'>, step: number): number {
  if (step < s.warmup) return step / Math.max(1, s.warmup);
  if (s.kind === 'constant') return 1;
  if (s.kind === 'linear') return Math.max(0, (s.total - step) / Math.max(1, s.total - s.warmup));
  const progress = Math.min(1, (step - s.warmup) / Math.max(1, s.total - s.warmup));
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** Warmup linearly from 0 to peak, then constant / linear decay to 0 / cosine to 0
 * (HF get_constant/linear/cosine_schedule_with_warmup, see lrFactor). */
export function lrAt(s: Schedule, step: number): number {
  return s.peak * lrFactor(s, step);
}

/** How the schedule treats COLA's knots (method.md: the paper is silent):
 * - continue = one schedule over the whole run: link.lr * lrFactor(base, step);
 * - restart = a fresh schedule per link: lrAt({ kind, peak: link.lr, warmup: min(base.warmup, n),
 *   total: n }, step - link.start) with n = link.end - link.start;
 * - jagged = ReLoRA's (Lialin et al. 2023, arXiv 2307.05695; Guitaricet/relora
 *   training_utils.py `_get_cosine_schedule_with_multiple_warmups_lambda`, min_lr_ratio 0):
 *   the continue rate, except during the `rewarmup` steps after a knot (not before the
 *   first link), where the rate climbs linearly from 0 to the continue rate at the knot:
 *   continue(link.start) * (step - link.start) / max(1, rewarmup). */
export type ChainScheduleMode = 'continue' | 'restart' | 'jagged';

export interface LinkSpan {
  start: number; // first global step of the link
  end: number; // one past its last step
  lr: number; // this link's peak rate
}

export function chainLr(mode: ChainScheduleMode, base: Schedule, link: LinkSpan, step: number, rewarmup: number): number {
  if (mode === 'restart') {
    const n = link.end - link.start;
    return lrAt({ kind: base.kind, peak: link.lr, total: n, warmup: Math.min(base.warmup, n) }, step - link.start);
  }
  const since = step - link.start;
  if (mode === 'jagged' && link.start > 0 && since < rewarmup)
    return (link.lr * lrFactor(base, link.start) * since) / Math.max(1, rewarmup);
  return link.lr * lrFactor(base, step);
}
