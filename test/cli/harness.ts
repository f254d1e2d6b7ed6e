// Runs the real CLI (node bin/cola.js) and builds tiny model folders for the CLI tests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertLlama2c } from '../../src/io/convertLlama2c.js';
import { TINY, randomWeights, tinyVocab, writeTokenizerBin, writeV0 } from '../io/llama2cFixtures.js';

/** dist/test/cli -> repo root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(repoRoot, 'bin/cola.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The reference backend keeps results identical across machines with and without the addon. */
export function cola(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): CliResult {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, COLA_BACKEND: 'reference', ...env },
    timeout: timeoutMs,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A user mistake refused as the CLI should: exit status 1, the expected message, no stack trace. */
export function assertRefused(r: CliResult, message: RegExp): void {
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'a clear error, not a stack trace');
}

/** The tiny llama2.c files (v0, untied) and tokenizer, for convert tests. */
export function writeTinyLlama2c(dir: string, seed = 60, wide = false): { modelBin: string; tokBin: string } {
  const { pieces, scores } = tinyVocab();
  // `wide` doubles the width: a model an adapter of the default one does not fit.
  const dims = { ...TINY, vocabSize: pieces.length, seqLen: 64, ...(wide ? { dim: 32, hiddenDim: 48 } : {}) };
  const tokBin = path.join(dir, 'tok.bin');
  const modelBin = path.join(dir, `model-${seed}.bin`);
  writeTokenizerBin(tokBin, pieces, scores);
  // Small weights so the tiny model's logits are tame.
  const w = randomWeights(dims, false, seed);
  for (const a of Object.values(w).flat()) if (a) for (let i = 0; i < a.length; i++) a[i] *= 0.2;
  writeV0(modelBin, dims, w);
  return { modelBin, tokBin };
}

/** A full model folder (config, safetensors, tokenizer) converted from tiny llama2.c files. */
export function tinyModelDir(dir: string, seed = 60, wide = false): string {
  const { modelBin, tokBin } = writeTinyLlama2c(dir, seed, wide);
  const out = path.join(dir, `model-${seed}`);
  convertLlama2c(modelBin, tokBin, out);
  return out;
}

/** A few lines of text in the tiny vocab. */
export function writeCorpus(file: string, lines = 12): string {
  const words = ['the cat sat on the mat.', 'hello the cat.', 'the mat sat on the cat.', 'hello hello.'];
  fs.writeFileSync(file, Array.from({ length: lines }, (_, i) => words[i % words.length]).join('\n') + '\n');
  return file;
}

/** A fake RTE data dir with a few rows per split. */
export function writeRte(dir: string): string {
  const row = (i: number) =>
    JSON.stringify({
      premise: `the cat sat on the mat ${i}.`,
      hypothesis: i % 2 ? 'the cat sat.' : 'hello.',
      label: i % 2 ? 'entailment' : 'not_entailment',
      idx: i,
    });
  fs.mkdirSync(path.join(dir, 'RTE'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'RTE/train.jsonl'), Array.from({ length: 10 }, (_, i) => row(i)).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'RTE/val.jsonl'), Array.from({ length: 6 }, (_, i) => row(100 + i)).join('\n') + '\n');
  return dir;
}

/** `cola train` flags of a 4-step, 2-link COLA run on a tiny corpus (its own dev data). */
export function tinyColaFlags(corpus: string): string[] {
  return [
    '--data',
    corpus,
    '--dev-data',
    corpus,
    '--max-length',
    '24',
    '--method',
    'cola',
    '--chain-length',
    '2',
    '--max-steps',
    '4',
    '--batch-size',
    '2',
  ];
}
