import { ColaError } from '../errors.js';
import { ConfigReader } from './configKeys.js';

/** RoPE frequency scaling a config may ask for (transformers' rope_type). */
export type RopeScaling =
  | { rope_type: 'linear'; factor: number }
  | { rope_type: 'llama3'; factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number };

/** A layer type's RoPE: base, scaling, and the share of head_dim rotated. */
export interface RopeParams {
  theta: number;
  scaling: RopeScaling | null;
  partialRotaryFactor: number;
}

/** The RoPE settings of config.json in either spelling: the hub's (rope_theta,
 * rope_scaling, partial_rotary_factor; Gemma 3's rope_local_base_freq for local layers)
 * or transformers v5's rope_parameters (one dict, or one per layer type as Gemma 3
 * writes it). `layerType` picks Gemma 3's per-layer entry. */
export function readRope(
  raw: Record<string, unknown>,
  file: string,
  opts: { defaultTheta: number; layerType?: 'full_attention' | 'sliding_attention'; localThetaKey?: string },
): RopeParams {
  const c = new ConfigReader(raw, file);
  const partial = c.num('partial_rotary_factor', 1);
  let params = raw['rope_parameters'] as Record<string, unknown> | null | undefined;
  if (params && typeof params === 'object' && opts.layerType && opts.layerType in params) {
    params = params[opts.layerType] as Record<string, unknown>;
  }
  if (params && typeof params === 'object') {
    const p = new ConfigReader(params, `${file} (rope_parameters)`);
    return {
      theta: p.num('rope_theta', opts.defaultTheta),
      scaling: parseScaling(params, `${file} (rope_parameters)`),
      partialRotaryFactor: p.num('partial_rotary_factor', partial),
    };
  }
  if (opts.layerType === 'sliding_attention' && opts.localThetaKey) {
    // Gemma 3 on the hub: local layers use rope_local_base_freq and no scaling
    return { theta: c.num(opts.localThetaKey, 10000), scaling: null, partialRotaryFactor: partial };
  }
  const scaling = raw['rope_scaling'];
  return {
    theta: c.num('rope_theta', opts.defaultTheta),
    scaling: scaling === null || scaling === undefined ? null : parseScaling(scaling as Record<string, unknown>, `${file} (rope_scaling)`),
    partialRotaryFactor: partial,
  };
}

function parseScaling(v: Record<string, unknown>, where: string): RopeScaling | null {
  const c = new ConfigReader(v, where);
  const type = c.str('rope_type', (v['type'] as string | undefined) ?? 'default');
  if (type === 'default') return null;
  if (type === 'linear') return { rope_type: 'linear', factor: c.num('factor') };
  if (type === 'llama3') {
    return {
      rope_type: 'llama3',
      factor: c.num('factor'),
      low_freq_factor: c.num('low_freq_factor'),
      high_freq_factor: c.num('high_freq_factor'),
      original_max_position_embeddings: c.int('original_max_position_embeddings'),
    };
  }
  throw new ColaError(`${where}: rope type "${type}" is not supported (supported: default, linear, llama3)`);
}

/** The rotated width: head_dim * partial_rotary_factor (HF: int(...)), even. */
export function rotaryDim(headDim: number, p: RopeParams, file: string): number {
  const dim = Math.floor(headDim * p.partialRotaryFactor);
  if (dim <= 0 || dim % 2 !== 0 || dim > headDim) {
    throw new ColaError(
      `${file}: partial_rotary_factor ${p.partialRotaryFactor} gives a rotary width of ${dim} for head_dim ${headDim}; expected an even width in 2..head_dim`,
    );
  }
  return dim;
}

/** Inverse frequencies [dim / 2] (transformers' rope init functions). */
export function ropeInvFreq(dim: number, p: RopeParams): Float64Array {
  const base = Float64Array.from({ length: dim / 2 }, (_, i) => Math.pow(p.theta, (-2 * i) / dim));
  const s = p.scaling;
  if (!s) return base;
  if (s.rope_type === 'linear') return base.map((f) => f / s.factor);
  // Llama 3's frequency-dependent scaling (_compute_llama3_parameters)
  const lowWavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const highWavelen = s.original_max_position_embeddings / s.high_freq_factor;
  return base.map((freq) => {
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) return freq;
    if (wavelen > lowWavelen) return freq / s.factor;
    const smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    return (1 - smooth) * (freq / s.factor) + smooth * freq;
  });
}
