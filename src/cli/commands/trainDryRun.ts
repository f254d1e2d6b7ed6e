/** `cola train --dry-run`: what the run would do and need, printed; nothing trained. */
import * as fs from 'node:fs';
import { dryRun, type DryRun } from '../../api/dryRun.js';
import type { RunConfig } from '../../cola/runConfig.js';
import { ColaError } from '../../errors.js';
import { formatBytes } from '../../io/memory.js';
import { loadTokenizer } from '../../io/tokenizer.js';
import { trainingPeak, type MemoryEstimate } from '../../models/memoryEstimate.js';
import type { QuantFormat } from '../../backend/quant/format.js';
import { getBackend, type BackendName } from '../../backend/index.js';
import { packsFrozenF32 } from '../../tensor/ops/packedWeight.js';
import { calibrationNeedsQuantize, checkDoubleQuant } from '../setup.js';
import type { OptionValues } from '../options.js';

export function printDryRun(cfg: RunConfig, v: OptionValues): number {
  if (cfg.resume) throw new ColaError('--dry-run plans a new run and does not check a resume; drop --resume (or --dry-run)');
  const dir = v['model'] as string | undefined;
  if (!dir) throw new ColaError('--model DIR is required (a Hugging Face model folder)');
  if (!fs.existsSync(dir)) throw new ColaError(`--model ${dir}: folder not found`);
  const quantize = v['quantize'] as QuantFormat | undefined;
  // refused as the run itself would refuse them, before any estimate
  if (v['double-quant']) checkDoubleQuant(quantize);
  if (cfg.quantizeCalibration !== undefined && !quantize) throw calibrationNeedsQuantize(cfg.quantizeCalibration);
  const r = dryRun(cfg, {
    modelDir: dir,
    tokenizer: loadTokenizer(dir),
    dtype: v['dtype'] as 'f32' | 'bf16' | undefined,
    ...(quantize ? { quantize, doubleQuant: v['double-quant'] === true } : {}),
    packedCopies: packsFrozenF32(getBackend(v['backend'] as BackendName | undefined)),
  });
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
    memoryLine(r.memory, {
      batch: cfg.budget.batchSize,
      seq: r.seq,
      dtype: r.dtype,
      quantize: r.quantize,
      checkpointing: cfg.gradientCheckpointing,
    }),
    '',
  ].join('\n');
}

/** One line of the estimate with its parts (memoryEstimate.ts states the assumptions). */
export function memoryLine(
  m: MemoryEstimate,
  o: { batch: number; seq: number; dtype: string; quantize?: QuantFormat | null; checkpointing: boolean },
): string {
  const held = o.quantize ? `block linears ${o.quantize}, the rest ${o.dtype}` : o.dtype;
  const packed = m.packedCopies > 0 ? ` + packed f32 copies ${formatBytes(m.packedCopies)}` : '';
  const parts =
    `weights ${formatBytes(m.weights)} (${held})${packed}` +
    ` + trainable ${m.trainableParameters.toLocaleString('en-US')} params, grads, AdamW ${formatBytes(m.training)}` +
    ` + activations ${formatBytes(m.activations)} (batch ${o.batch} x ${o.seq} tokens${o.checkpointing ? ', gradient checkpointing' : ''})` +
    ` + LM head chunk ${formatBytes(m.logits)}`;
  const training = trainingPeak(m);
  const load = m.load > 0 ? `; loading the base dense to choose its codes: ${formatBytes(m.load)}` : '';
  const head = m.load > training ? `${formatBytes(m.total)} while loading; training ${formatBytes(training)}` : formatBytes(m.total);
  return `peak memory estimate: ${head} = ${parts}${load}; the runtime itself is not counted`;
}
