/** The experiment grid: tasks × seeds × methods × learning rates, one training run
 * ("cell") each, in its own folder under --out. */
import * as path from 'node:path';
import { formatLr } from '../report/metricFormat.js';

export interface Cell {
  task: string;
  method: string;
  lr: number;
  seed: number;
}

/** The paper's grid (method.md §3). */
export const DEFAULT_LRS = ['1e-3', '8e-4', '5e-4', '1e-4', '5e-5'];

/** Positive learning rates, or problems appended to `problems`. */
export function parseLrs(raw: string[], problems: string[]): number[] {
  const lrs = raw.map(Number);
  const bad = raw.filter((_, i) => !Number.isFinite(lrs[i]) || lrs[i]! <= 0);
  if (bad.length) problems.push(`--lrs: expected positive numbers, got ${bad.join(', ')}`);
  return [...new Set(lrs)];
}

/** `--seeds 5` means seeds 0..4; `--seeds 3,7` means exactly those. */
export function parseSeeds(raw: string[], problems: string[]): number[] {
  const ns = raw.map(Number);
  const bad = raw.filter((_, i) => !Number.isInteger(ns[i]) || ns[i]! < 0);
  if (bad.length || ns.length === 0) {
    problems.push(
      `--seeds: expected a count N (seeds 0..N-1) or a list of seeds, as non-negative integers; got ${raw.join(',') || 'nothing'}`,
    );
    return [];
  }
  if (ns.length === 1) {
    if (ns[0] === 0) problems.push('--seeds 0: need at least one seed');
    return Array.from({ length: ns[0]! }, (_, i) => i);
  }
  return [...new Set(ns)];
}

/** Seed-major order: every method and LR sees seed 0 before any sees seed 1, so a
 * grid stopped halfway already compares all methods. */
export function gridCells(tasks: string[], methods: string[], lrs: number[], seeds: number[]): Cell[] {
  const out: Cell[] = [];
  for (const task of tasks)
    for (const seed of seeds) for (const method of methods) for (const lr of lrs) out.push({ task, method, lr, seed });
  return out;
}

/** 5e-4 -> "5e-4": short, exact and safe in a path. */
export function lrLabel(lr: number): string {
  return formatLr(lr);
}

/** Folder names are made of the user's task and method names: keep them path-safe. */
export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_');
}

export function cellDir(out: string, c: Cell): string {
  return path.join(out, 'runs', safeName(c.task), safeName(c.method), `lr-${lrLabel(c.lr)}`, `seed-${c.seed}`);
}
