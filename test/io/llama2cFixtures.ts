// Writers for tiny llama2.c files, written straight from the byte layouts in
// ../shared/models/*/README.md (independent of src/io's reader), and the shared/ paths.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randn } from '../helpers/random.js';

/** dist/test/io -> repo root; shared/ sits beside the repo. */
export const sharedDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..', '../shared');
export const haveShared = fs.existsSync(path.join(sharedDir, 'models'));
export const skipShared = haveShared ? false : `../shared not found at ${sharedDir}: real-model checks skipped`;

export interface TinyDims {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
}

export const TINY: TinyDims = { dim: 16, hiddenDim: 24, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 32, seqLen: 8 };

/** Source tensors in llama2.c naming, one array per layer for layered ones. */
export interface SourceWeights {
  tokenEmbedding: Float32Array;
  rmsAtt: Float32Array[];
  wq: Float32Array[];
  wk: Float32Array[];
  wv: Float32Array[];
  wo: Float32Array[];
  rmsFfn: Float32Array[];
  w1: Float32Array[];
  w2: Float32Array[];
  w3: Float32Array[];
  rmsFinal: Float32Array;
  wcls: Float32Array | null;
}

export function randomWeights(d: TinyDims, tied: boolean, seed: number): SourceWeights {
  const kvDim = (d.dim * d.nKvHeads) / d.nHeads;
  let s = seed;
  const r = (n: number) => randn(n, s++);
  const layers = (n: number) => Array.from({ length: d.nLayers }, () => r(n));
  return {
    tokenEmbedding: r(d.vocabSize * d.dim),
    rmsAtt: layers(d.dim),
    wq: layers(d.dim * d.dim),
    wk: layers(kvDim * d.dim),
    wv: layers(kvDim * d.dim),
    wo: layers(d.dim * d.dim),
    rmsFfn: layers(d.dim),
    w1: layers(d.hiddenDim * d.dim),
    w2: layers(d.dim * d.hiddenDim),
    w3: layers(d.hiddenDim * d.dim),
    rmsFinal: r(d.dim),
    wcls: tied ? null : r(d.vocabSize * d.dim),
  };
}

const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const int32s = (xs: number[]) => bytesOf(Int32Array.from(xs));

/** Legacy version 0: 7 int32, then the tensors in run.c's order, freq_cis tables, wcls. */
export function writeV0(file: string, d: TinyDims, w: SourceWeights): void {
  const vocab = w.wcls ? -d.vocabSize : d.vocabSize;
  const headSize = d.dim / d.nHeads;
  const freq = randn((d.seqLen * headSize) / 2, 999);
  const parts = [
    int32s([d.dim, d.hiddenDim, d.nLayers, d.nHeads, d.nKvHeads, vocab, d.seqLen]),
    w.tokenEmbedding,
    ...w.rmsAtt,
    ...w.wq,
    ...w.wk,
    ...w.wv,
    ...w.wo,
    ...w.rmsFfn,
    ...w.w1,
    ...w.w2,
    ...w.w3,
    w.rmsFinal,
    freq,
    freq,
    ...(w.wcls ? [w.wcls] : []),
  ];
  fs.writeFileSync(file, Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : bytesOf(p)))));
}

function versionedHeader(d: TinyDims, version: number, tied: boolean, groupSize: number): Buffer {
  const h = Buffer.alloc(256);
  h.writeUInt32LE(0x616b3432, 0);
  h.writeInt32LE(version, 4);
  [d.dim, d.hiddenDim, d.nLayers, d.nHeads, d.nKvHeads, d.vocabSize, d.seqLen].forEach((v, i) => h.writeInt32LE(v, 8 + 4 * i));
  h.writeUInt8(tied ? 1 : 0, 36);
  if (version === 2) h.writeInt32LE(groupSize, 37);
  return h;
}

/** Version 1: 256-byte header, norms first, then fp32 matrices per type then layer. */
export function writeV1(file: string, d: TinyDims, w: SourceWeights): void {
  const parts = [
    ...w.rmsAtt,
    ...w.rmsFfn,
    w.rmsFinal,
    w.tokenEmbedding,
    ...w.wq,
    ...w.wk,
    ...w.wv,
    ...w.wo,
    ...w.w1,
    ...w.w2,
    ...w.w3,
    ...(w.wcls ? [w.wcls] : []),
  ];
  fs.writeFileSync(file, Buffer.concat([versionedHeader(d, 1, !w.wcls, 0), ...parts.map(bytesOf)]));
}

/** Q8_0 as llama2.c export.py: scale = max|w| / 127 per group, q = round(w / scale). */
export function quantizeQ8(w: Float32Array, groupSize: number): { q: Int8Array; s: Float32Array } {
  const q = new Int8Array(w.length);
  const s = new Float32Array(w.length / groupSize);
  for (let g = 0; g < s.length; g++) {
    let max = 0;
    for (let i = g * groupSize; i < (g + 1) * groupSize; i++) max = Math.max(max, Math.abs(w[i]));
    s[g] = max / 127;
    for (let i = g * groupSize; i < (g + 1) * groupSize; i++) q[i] = Math.round(w[i] / s[g]);
  }
  return { q, s };
}

/** Version 2: fp32 norms, then each matrix as int8 values followed by its f32 scales.
 * Returns the matrices' quantized forms (in file order) so tests can check dequantization. */
export function writeV2(
  file: string,
  d: TinyDims,
  w: SourceWeights,
  groupSize: number,
): Map<Float32Array, { q: Int8Array; s: Float32Array }> {
  const mats = [w.tokenEmbedding, ...w.wq, ...w.wk, ...w.wv, ...w.wo, ...w.w1, ...w.w2, ...w.w3, ...(w.wcls ? [w.wcls] : [])];
  const quantized = new Map(mats.map((m) => [m, quantizeQ8(m, groupSize)]));
  const parts = [...w.rmsAtt, ...w.rmsFfn, w.rmsFinal].map(bytesOf);
  for (const m of mats) parts.push(bytesOf(quantized.get(m)!.q), bytesOf(quantized.get(m)!.s));
  fs.writeFileSync(file, Buffer.concat([versionedHeader(d, 2, !w.wcls, groupSize), ...parts]));
  return quantized;
}

/** llama2.c tokenizer .bin: int32 max_token_length, then (f32 score, int32 len, bytes). */
export function writeTokenizerBin(file: string, pieces: string[], scores: number[]): void {
  const enc = pieces.map((p) => Buffer.from(p, 'utf8'));
  const maxLen = Math.max(...enc.map((b) => b.length));
  const parts: Buffer[] = [int32s([maxLen])];
  enc.forEach((b, i) => {
    const head = Buffer.alloc(8);
    head.writeFloatLE(scores[i], 0);
    head.writeInt32LE(b.length, 4);
    parts.push(head, b);
  });
  fs.writeFileSync(file, Buffer.concat(parts));
}

/** A small SentencePiece-like vocab: specials, 256 bytes, single chars, then merges
 * (scores 0, -1, ... in creation order, chars below them) as llama2.c tokenizers have. */
export function tinyVocab(): { pieces: string[]; scores: number[] } {
  const merges = [
    ' t',
    'he',
    ' a',
    ' the',
    'at',
    ' c',
    ' cat',
    ' s',
    ' sat',
    'on',
    ' on',
    'ed',
    ' m',
    ' mat',
    'lo',
    'll',
    'llo',
    'he' + 'llo',
    ' hello',
  ];
  const chars = [' ', 'e', 't', 'a', 'h', 'o', 'n', 's', 'c', 'm', 'l', 'd', '.', 'T', 'H', 'é'];
  const pieces = ['<unk>', '\n<s>\n', '\n</s>\n'];
  const scores = [0, 0, 0];
  for (let b = 0; b < 256; b++) {
    pieces.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    scores.push(0);
  }
  merges.forEach((m, i) => (pieces.push(m), scores.push(-i)));
  chars.forEach((c, i) => (pieces.push(c), scores.push(-merges.length - i)));
  return { pieces, scores };
}
