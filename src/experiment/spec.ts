/** The grid an experiment's flags describe, every flag problem reported at once. */
import type { OptionValues } from '../cli/options.js';
import { ColaError } from '../errors.js';
import { taskRefs, type TaskRef } from './data.js';
import { parseLrs, parseSeeds } from './grid.js';
import { methodSpec, type MethodSpec } from './methods.js';

export interface ExperimentSpec {
  tasks: TaskRef[];
  methods: MethodSpec[];
  lrs: number[];
  seeds: number[];
}

function positiveInts(raw: string[], flag: string, problems: string[]): number[] {
  const ns = raw.map(Number);
  if (ns.length === 0 || ns.some((n) => !Number.isInteger(n) || n < 1))
    problems.push(`--${flag}: expected positive integers separated by commas, got ${raw.join(',') || 'nothing'}`);
  return ns;
}

function checkFractions(v: OptionValues, problems: string[]): void {
  const dev = v['dev-fraction'] as number;
  const test = v['test-fraction'] as number;
  if (!(dev > 0 && test > 0 && dev + test < 1))
    problems.push(`--dev-fraction ${dev} and --test-fraction ${test}: each must be > 0 and together < 1`);
}

export function parseExperiment(v: OptionValues): ExperimentSpec {
  const problems: string[] = [];
  const tasks = taskRefs(v, problems);
  const ranks = positiveInts(v['stepdown-ranks'] as string[], 'stepdown-ranks', problems);
  const names = [...new Set(v['methods'] as string[])];
  if (names.length === 0) problems.push('--methods: name at least one method');
  const methods = names
    .map((n) => methodSpec(n, ranks, v['stepdown-knots'] as string[] | undefined))
    .filter((m): m is MethodSpec => {
      if (typeof m === 'string') problems.push(m);
      return typeof m !== 'string';
    });
  const knots = v['stepdown-knots'] as string[] | undefined;
  if (names.includes('cola-stepdown') && knots && knots.length + 1 !== ranks.length) {
    problems.push(
      `--stepdown-knots ${knots.join(',')} makes ${knots.length + 1} links but --stepdown-ranks ${ranks.join(',')} gives ${ranks.length} ranks`,
    );
  }
  if (names.includes('full') && v['dtype'] === 'bf16')
    problems.push('--methods full trains every weight in f32: drop --dtype bf16 (full cells load f32 by themselves)');
  const lrs = parseLrs(v['lrs'] as string[], problems);
  const seeds = parseSeeds(v['seeds'] as string[], problems);
  if (tasks.some((t) => t.corpus)) checkFractions(v, problems);
  if (problems.length) throw new ColaError(problems.length === 1 ? problems[0]! : '\n  ' + problems.join('\n  '));
  return { tasks, methods, lrs, seeds };
}
