/** `cola train --dry-run`: what the run would do and need, printed; nothing trained. */
import * as fs from 'node:fs';
import { dryRun, type DryRun } from '../../api/dryRun.js';
import type { RunConfig } from '../../cola/runConfig.js';
import { ColaError } from '../../errors.js';
import { formatBytes } from '../../io/memory.js';
import { loadTokenizer } from '../../io/tokenizer.js';
import type { MemoryEstimate } from '../../models/memoryEstimate.js';
import type { OptionValues } from '../options.js';

export function printDryRun(cfg: RunConfig, v: OptionValues): number {
  if (cfg.resume) throw new ColaError('--dry-run plans a new run and does not check a resume; drop --resume (or --dry-run)');
  const dir = v['model'] as string | undefined;
  if (!dir) throw new ColaError('--model DIR is required (a Hugging Face model folder)');
  if (!fs.existsSync(dir)) throw new ColaError(`--model ${dir}: folder not found`);
  const r = dryRun(cfg, { modelDir: dir, tokenizer: loadTokenizer(dir), dtype: v['dtype'] as 'f32' | 'bf16' | undefined });
  if (v['json']) process.stdout.write(JSON.stringify({ event: 'dry_run', ...r }) + '\n');
  else process.stdout.write(dryRunText(r));
  return 0;
}

export function dryRunText(r: DryRun): string {
  const { plan, config: cfg } = r;
  const links = plan.links.map(
    (l) => `  link ${l.index + 1}: steps ${l.start + 1}-${l.end} (${l.end - l.start}), rank ${l.rank}, lr ${l.lr}`,
  );
  const knots = plan.links.slice(1).map((l) => l.start);
  return [
    'cola train --dry-run: nothing is trained or written',
    `config: ${JSON.stringify(cfg)}`,
    `data: ${r.counts.train} train, ${r.counts.dev} dev, ${r.counts.test} test examples; longest training sequence ${r.seq} tokens`,
    `plan: ${plan.totalSteps} optimizer steps (${plan.stepsPerEpoch} per epoch), micro-batch ${cfg.budget.batchSize} x ${cfg.budget.gradAccum} accumulated`,
    ...links,
    `  knots at steps: ${knots.length ? knots.join(', ') : 'none'}`,
    `  dev evaluations at steps: ${plan.evalSteps.join(', ')}`,
    memoryLine(r.memory, { batch: cfg.budget.batchSize, seq: r.seq, dtype: r.dtype, checkpointing: cfg.gradientCheckpointing }),
    '',
  ].join('\n');
}

/** One line of the estimate with its parts (memoryEstimate.ts states the assumptions). */
export function memoryLine(m: MemoryEstimate, o: { batch: number; seq: number; dtype: string; checkpointing: boolean }): string {
  return (
    `peak memory estimate: ${formatBytes(m.total)} = weights ${formatBytes(m.weights)} (${o.dtype})` +
    ` + trainable ${m.trainableParameters.toLocaleString('en-US')} params, grads, AdamW ${formatBytes(m.training)}` +
    ` + activations ${formatBytes(m.activations)} (batch ${o.batch} x ${o.seq} tokens${o.checkpointing ? ', gradient checkpointing' : ''})` +
    ` + logits ${formatBytes(m.logits)}; the runtime itself is not counted`
  );
}
