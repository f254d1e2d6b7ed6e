import type { Backend } from '../backend/backend.js';
import { checkQuantWeight, type QuantFormat, type QuantWeight } from '../backend/quant/format.js';
import { ColaError } from '../errors.js';
import { checkMemory } from '../io/memory.js';
import { tensor, zeros } from '../tensor/ops/creation.js';
import { mulberry32, type Rng } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';

/** What a parameter is, so a source can pick its dtype and initialisation. */
export type WeightRole = 'matrix' | 'embedding' | 'norm' | 'bias';

/** Where a model's weights come from while its modules are built: a checkpoint
 * (checked key by key, problems collected and reported all at once) or a random
 * initialisation (tests, benchmarks). */
export interface WeightSource {
  readonly backend: Backend;
  /** The tensor stored under `name` (frozen), or null when optional and absent. */
  get(name: string, shape: readonly number[], role: WeightRole, optional?: boolean): Tensor | null;
  /** Whether a checkpoint holds `name` (absent on random sources: they hold everything). */
  has?(name: string): boolean;
  /** Throw one error listing every missing, unexpected and mis-shaped key. */
  finish(): void;
  /** Quantize the linear weights as they load (issue 17: build.ts linearFrom), so a
   * model never holds more than one dense matrix at a time; absent: keep them dense. */
  readonly quantize?: QuantFormat;
  /** A linear weight the checkpoint stores quantized in one of cola's formats (a GGUF
   * Q8_0 / Q4_0 tensor, issue 17): its codes, never widened; null when it is stored dense
   * (then get() reads it). */
  quantized?(name: string, shape: readonly number[]): QuantWeight | null;
}

/** Frozen base weights: matrices and embeddings in `dtype`, norms and biases f32. */
export type WeightDtype = 'f32' | 'bf16';

/** Deterministic random weights (normal, std 0.02 like HF init; norms = 1). */
export class RandomWeights implements WeightSource {
  private readonly uniform: Rng;

  constructor(
    readonly backend: Backend,
    seed: number,
    private readonly dtype: WeightDtype = 'f32',
    private readonly std = 0.02,
  ) {
    this.uniform = mulberry32(seed >>> 0 || 1);
  }

  get(_name: string, shape: readonly number[], role: WeightRole): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (role === 'norm') return tensor(this.backend, new Float32Array(n).fill(1), shape);
    if (role === 'bias') return zeros(this.backend, shape);
    return tensor(this.backend, this.gaussians(n), shape, this.dtype);
  }

  finish(): void {}

  /** n normal samples times std: Box-Muller using both of each pair (an OPT-1.3B
   * shape draws 1.3e9 of them, so the transcendental calls per sample matter). */
  private gaussians(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const radius = Math.sqrt(-2 * Math.log(Math.max(this.uniform(), 1e-12))) * this.std;
      const angle = 2 * Math.PI * this.uniform();
      out[i] = radius * Math.cos(angle);
      if (i + 1 < n) out[i + 1] = radius * Math.sin(angle);
    }
    return out;
  }
}

/** A checkpoint's tensors by name, read on demand (one at a time). */
export interface TensorReader {
  readonly path: string;
  names(): string[];
  shape(name: string): readonly number[];
  /** Read as f32 or bf16 storage on the backend. */
  read(name: string, dtype: WeightDtype, backend: Backend): Float32Array | Uint16Array;
  /** The tensor as cola quantized codes when the file stores it so and it may stay so;
   * null otherwise (absent: the file stores nothing quantized). */
  readQuantized?(name: string): QuantWeight | null;
}

export class CheckpointWeights implements WeightSource {
  quantize?: QuantFormat;
  private readonly used = new Set<string>();
  private readonly missing: string[] = [];
  private readonly misShaped: string[] = [];
  private readonly available: Set<string>;

  constructor(
    readonly backend: Backend,
    private readonly reader: TensorReader,
    private readonly dtype: WeightDtype,
    /** keys present in checkpoints but recomputed by us (e.g. rotary inv_freq) */
    private readonly ignored: RegExp[] = [],
  ) {
    this.available = new Set(reader.names());
  }

  has(name: string): boolean {
    return this.available.has(name);
  }

  get(name: string, shape: readonly number[], role: WeightRole, optional = false): Tensor | null {
    // shapes come from config.json (untrusted too): a placeholder for a missing or
    // mis-shaped key must not allocate what a crafted config asks for
    const elements = shape.reduce((a, b) => a * b, 1);
    checkMemory(elements * 4, `${this.reader.path}: config.json gives "${name}" the shape [${shape.join(', ')}], which`);
    if (!this.available.has(name)) {
      if (!optional) this.missing.push(`${name} [${shape.join(', ')}]`);
      return optional ? null : zeros(this.backend, shape);
    }
    this.used.add(name);
    const found = this.reader.shape(name);
    if (found.length !== shape.length || found.some((d, i) => d !== shape[i])) {
      this.misShaped.push(`${name}: expected [${shape.join(', ')}], found [${found.join(', ')}]`);
      return zeros(this.backend, shape);
    }
    const dtype = role === 'norm' || role === 'bias' ? 'f32' : this.dtype;
    const data = this.reader.read(name, dtype, this.backend);
    return new Tensor(data, [...shape], dtype, this.backend);
  }

  quantized(name: string, shape: readonly number[]): QuantWeight | null {
    if (!this.reader.readQuantized || !this.available.has(name)) return null;
    const found = this.reader.shape(name);
    if (found.length !== shape.length || found.some((d, i) => d !== shape[i])) return null; // get() reports it
    const w = this.reader.readQuantized(name);
    if (!w) return null;
    checkQuantWeight(w, `${this.reader.path}: "${name}"`);
    this.used.add(name);
    return w;
  }

  finish(): void {
    const unexpected = this.reader.names().filter((n) => !this.used.has(n) && !this.ignored.some((r) => r.test(n)));
    const parts: string[] = [];
    if (this.missing.length) parts.push(`missing keys (${this.missing.length}):\n  ${this.missing.join('\n  ')}`);
    if (unexpected.length) parts.push(`unexpected keys (${unexpected.length}):\n  ${unexpected.join('\n  ')}`);
    if (this.misShaped.length) parts.push(`mis-shaped keys (${this.misShaped.length}):\n  ${this.misShaped.join('\n  ')}`);
    if (parts.length) {
      throw new ColaError(
        `${this.reader.path}: the checkpoint does not match its config.json.\n${parts.join('\n')}\n` +
          'Check that config.json belongs to these weights (model_type, sizes, layer count).',
      );
    }
  }
}

/** Reads a checkpoint saved from a bare base model, whose keys lack the task
 * model's prefix (`h.0.ln_1.weight` for `transformer.h.0.ln_1.weight`), as
 * transformers' from_pretrained accepts. `probe` is a key every checkpoint of
 * the family has, without the prefix. Problems are reported under file keys. */
export function withOptionalPrefix(src: WeightSource, prefix: string, probe: string): WeightSource {
  if (!src.has || src.has(prefix + probe) || !src.has(probe)) return src;
  const strip = (name: string): string => (name.startsWith(prefix) ? name.slice(prefix.length) : name);
  return {
    backend: src.backend,
    get: (name, shape, role, optional) => src.get(strip(name), shape, role, optional),
    has: (name) => src.has!(strip(name)),
    finish: () => src.finish(),
  };
}
