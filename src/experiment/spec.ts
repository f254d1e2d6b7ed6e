/** The grid an experiment's flags describe, every flag problem reported at once. */
import { isLoftqInit, type LoraInit } from '../lora/config.js';
import { ColaError } from '../errors.js';
import { taskRefs, type TaskRef } from './data.js';
import type { ExperimentConfig } from './flags.js';
import { parseLrs, parseSeeds } from './grid.js';
import { methodSpec, type MethodSpec } from './methods.js';

export interface ExperimentSpec {
  tasks: TaskRef[];
  methods: MethodSpec[];
  lrs: number[];
  seeds: number[];
}

function positiveInts(raw: readonly string[], flag: string, problems: string[]): number[] {
  const ns = raw.map(Number);
  if (ns.length === 0 || ns.some((n) => !Number.isInteger(n) || n < 1))
    problems.push(`--${flag}: expected positive integers separated by commas, got ${raw.join(',') || 'nothing'}`);
  return ns;
}

export function parseExperiment(c: ExperimentConfig): ExperimentSpec {
  const { exp } = c;
  const problems: string[] = [];
  const tasks = taskRefs(exp, c.data, problems);
  const ranks = positiveInts(exp.stepdownRanks, 'stepdown-ranks', problems);
  const names = [...new Set(exp.methods)];
  if (names.length === 0) problems.push('--methods: name at least one method');
  const methods = names
    .map((n) => methodSpec(n, ranks, exp.stepdownKnots, c.run.epochs))
    .filter((m): m is MethodSpec => {
      if (typeof m === 'string') problems.push(m);
      return typeof m !== 'string';
    });
  const knots = exp.stepdownKnots;
  if (names.includes('cola-stepdown') && knots && knots.length + 1 !== ranks.length) {
    problems.push(
      `--stepdown-knots ${knots.join(',')} makes ${knots.length + 1} links but --stepdown-ranks ${ranks.join(',')} gives ${ranks.length} ranks`,
    );
  }
  if (names.includes('full') && exp.quantize !== undefined)
    problems.push(
      `--methods full trains every weight, which a --quantize ${exp.quantize} base keeps frozen as codes: drop full from --methods (e.g. --methods lora,cola-l3) or drop --quantize`,
    );
  if (c.run.quantizeCalibration !== undefined && exp.quantize === undefined)
    problems.push(
      `--quantize-calibration ${c.run.quantizeCalibration} chooses the codes of a quantized base: give --quantize with it, or drop it`,
    );
  if (isLoftqInit(c.run.loraInit as LoraInit) && exp.quantize === undefined)
    problems.push(
      `--lora-init ${c.run.loraInit} (LoftQ) chooses the codes of a quantized base together with the first adapter: give --quantize nf4|q4_0|int8|q8_0 with it, or use another --lora-init`,
    );
  if (exp.doubleQuant && exp.quantize !== 'nf4')
    problems.push(
      `--double-quant quantizes nf4's block scales: it needs --quantize nf4${exp.quantize ? `, not ${exp.quantize}` : ''} (or drop --double-quant)`,
    );
  if (names.includes('full') && exp.dtype === 'bf16')
    problems.push('--methods full trains every weight in f32: drop --dtype bf16 (full cells load f32 by themselves)');
  const lrs = parseLrs(exp.lrs, problems);
  const seeds = parseSeeds(exp.seeds, problems);
  if (tasks.some((t) => t.corpus) && !(exp.devFraction > 0 && exp.testFraction > 0 && exp.devFraction + exp.testFraction < 1))
    problems.push(`--dev-fraction ${exp.devFraction} and --test-fraction ${exp.testFraction}: each must be > 0 and together < 1`);
  if (problems.length) throw new ColaError(problems.length === 1 ? problems[0]! : '\n  ' + problems.join('\n  '));
  return { tasks, methods, lrs, seeds };
}
