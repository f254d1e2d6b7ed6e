/** The header of a llama2.c checkpoint, read (never assumed) and bounded.
 *
 * Versions (llama2.c export.py):
 * - 0 "legacy": 7 int32 `dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
 *   seq_len`; a negative vocab_size means an untied classifier `wcls` at the end.
 * - 1 and 2: 256-byte header: uint32 magic 0x616b3432 ("ak42"), int32 version, the same 7
 *   int32 (vocab positive), uint8 shared_classifier, and for version 2 int32 group_size.
 *   Version 1 stores fp32 weights, version 2 Q8_0 (int8 values then f32 group scales). */
import { ColaError } from '../errors.js';
import { fileSize, readExactly, withFd } from './fileIo.js';

const LLAMA2C_MAGIC = 0x616b3432;
const LEGACY_HEADER_BYTES = 28;
const VERSIONED_HEADER_BYTES = 256;

export interface Llama2cHeader {
  version: 0 | 1 | 2;
  headerBytes: number;
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Always positive here; the sign of the legacy field is in `sharedClassifier`. */
  vocabSize: number;
  seqLen: number;
  sharedClassifier: boolean;
  /** Q8_0 group size (version 2 only). */
  groupSize: number;
}

/** Sane maxima: far above any llama2.c-exportable model, low enough that a garbage header
 * (e.g. a non-llama2.c file) is caught here instead of by a giant allocation. */
const MAX = { dim: 1 << 16, hiddenDim: 1 << 18, nLayers: 1024, vocabSize: 1 << 22, seqLen: 1 << 22, groupSize: 1 << 20 };

export function readLlama2cHeader(file: string): Llama2cHeader {
  const size = fileSize(file);
  if (size < LEGACY_HEADER_BYTES) {
    throw new ColaError(`${file}: ${size} bytes is too short for a llama2.c checkpoint (the header alone is ${LEGACY_HEADER_BYTES} bytes)`);
  }
  const buf = Buffer.alloc(Math.min(size, VERSIONED_HEADER_BYTES));
  withFd(file, (fd) => readExactly(fd, buf, 0, file));
  const header = buf.readUInt32LE(0) === LLAMA2C_MAGIC ? parseVersioned(file, buf) : parseLegacy(buf);
  validate(file, header);
  return header;
}

function ints(buf: Buffer, at: number): number[] {
  return Array.from({ length: 7 }, (_, i) => buf.readInt32LE(at + 4 * i));
}

function parseLegacy(buf: Buffer): Llama2cHeader {
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = ints(buf, 0);
  const base = { dim, hiddenDim, nLayers, nHeads, nKvHeads, seqLen };
  return { version: 0, headerBytes: LEGACY_HEADER_BYTES, ...base, vocabSize: Math.abs(vocab), sharedClassifier: vocab > 0, groupSize: 0 };
}

function parseVersioned(file: string, buf: Buffer): Llama2cHeader {
  if (buf.length < VERSIONED_HEADER_BYTES) {
    throw new ColaError(
      `${file}: has the llama2.c "ak42" magic but is shorter than its ${VERSIONED_HEADER_BYTES}-byte header; the file is truncated`,
    );
  }
  const version = buf.readInt32LE(4);
  if (version !== 1 && version !== 2) {
    throw new ColaError(
      `${file}: llama2.c export version ${version} is not supported; expected 1 (fp32) or 2 (int8 Q8_0), or a legacy version 0 file`,
    );
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen] = ints(buf, 8);
  const sharedByte = buf.readUInt8(36);
  if (sharedByte > 1) throw new ColaError(`${file}: shared_classifier byte is ${sharedByte}, expected 0 or 1`);
  const groupSize = version === 2 ? buf.readInt32LE(37) : 0;
  return {
    version,
    headerBytes: VERSIONED_HEADER_BYTES,
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize,
    seqLen,
    sharedClassifier: sharedByte === 1,
    groupSize,
  };
}

/** Collect every problem, then throw once, so a user sees the whole picture. */
function validate(file: string, h: Llama2cHeader): void {
  const problems: string[] = [];
  const inRange = (name: string, v: number, max: number) => {
    if (!(v >= 1 && v <= max)) problems.push(`${name} = ${v} (expected 1..${max})`);
  };
  inRange('dim', h.dim, MAX.dim);
  inRange('hidden_dim', h.hiddenDim, MAX.hiddenDim);
  inRange('n_layers', h.nLayers, MAX.nLayers);
  inRange('n_heads', h.nHeads, h.dim);
  inRange('n_kv_heads', h.nKvHeads, h.nHeads);
  inRange('vocab_size', h.vocabSize, MAX.vocabSize);
  inRange('seq_len', h.seqLen, MAX.seqLen);
  if (h.version === 2) inRange('group_size', h.groupSize, MAX.groupSize);
  if (problems.length === 0) {
    if (h.dim % h.nHeads !== 0) problems.push(`dim ${h.dim} is not a multiple of n_heads ${h.nHeads}`);
    else if ((h.dim / h.nHeads) % 2 !== 0) problems.push(`head size ${h.dim / h.nHeads} is odd (RoPE rotates pairs)`);
    if (h.nHeads % h.nKvHeads !== 0) problems.push(`n_heads ${h.nHeads} is not a multiple of n_kv_heads ${h.nKvHeads}`);
  }
  if (problems.length > 0) {
    throw new ColaError(
      `${file}: not a valid llama2.c version ${h.version} header: ${problems.join('; ')}. Is this really a llama2.c model .bin?`,
    );
  }
}
