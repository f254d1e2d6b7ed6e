// A synthetic run folder shaped like the trainer's output: 3 links, 2 knots, evals every
// 20 steps, a config string that tries to inject a script.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const FAKE_KNOTS = [40, 80];
export const FAKE_STEPS = 120;
export const INJECTION = '</td><script>alert("x")</script>';

export interface FakeRunOptions {
  /** Stop logging after this step and omit the done event (a crashed run). */
  stopAt?: number;
  /** Leave these files out. */
  omit?: string[];
}

function stepEvent(step: number): object {
  const link = FAKE_KNOTS.filter((k) => step > k).length; // step = optimizer steps done
  const inLink = step - 1 - [0, ...FAKE_KNOTS][link]!;
  const lr = 5e-4 * (link === 2 ? 0.5 : 1) * Math.min(1, (inLink + 1) / 5);
  const loss = 2.5 * Math.exp(-step / 60) + 0.4 + 0.05 * Math.sin(step) + (inLink < 3 ? 0.05 : 0);
  return {
    event: 'step',
    step,
    link,
    epoch: step / 40,
    loss,
    lr,
    grad_norm: 1 / (1 + step / 50),
    tokens: 512,
    tokens_per_s: 900 + (step % 7) * 10,
    elapsed_s: step * 0.55,
  };
}

function metricsLines(stopAt: number): string[] {
  const lines: string[] = [];
  for (let step = 1; step <= stopAt; step++) {
    lines.push(JSON.stringify(stepEvent(step)));
    const link = FAKE_KNOTS.filter((k) => step > k).length;
    if (step % 20 === 0)
      lines.push(JSON.stringify({ event: 'eval', step, link, dev_loss: 2 - step / 100, dev_accuracy: 0.5 + step / 400 }));
    const k = FAKE_KNOTS.indexOf(step);
    if (k >= 0)
      lines.push(
        JSON.stringify({
          event: 'knot',
          step,
          link: k,
          next_link: k + 1,
          rank: 8,
          next_rank: k ? 4 : 8,
          delta_norm: 0.12 + k / 10,
          loss_before: 1.5,
          loss_after: 1.5,
        }),
      );
  }
  return lines;
}

export function writeFakeRun(dir: string, o: FakeRunOptions = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  const stopAt = o.stopAt ?? FAKE_STEPS;
  const lines = metricsLines(stopAt);
  if (o.stopAt === undefined)
    lines.push(JSON.stringify({ event: 'done', step: FAKE_STEPS, elapsed_s: 66, final: { dev_accuracy: 0.8, test_accuracy: 0.78 } }));
  const files: Record<string, string> = {
    'config.json': JSON.stringify({ model: 'tiny-llama', method: 'cola', lr: 5e-4, rank: 8, note: INJECTION, 'chain-length': 3 }),
    'chain.json': JSON.stringify({
      method: 'cola',
      links: [
        { index: 0, start: 0, end: 40, rank: 8, lr: 5e-4, scale: 2 },
        { index: 1, start: 40, end: 80, rank: 8, lr: 5e-4, scale: 2 },
        { index: 2, start: 80, end: 120, rank: 4, lr: 2.5e-4, scale: 4 },
      ],
      knots: FAKE_KNOTS,
      seed: 0,
    }),
    'metrics.jsonl': lines.join('\n') + '\n',
  };
  for (const [name, text] of Object.entries(files)) if (!o.omit?.includes(name)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}
