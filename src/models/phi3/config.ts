import { ColaError } from '../../errors.js';
import { ConfigReader } from '../configKeys.js';
import { readDecoderDims, type DecoderDims } from '../decoder/config.js';
import { readRope, rotaryDim, type RopeParams } from '../ropeConfig.js';

/** Phi-3's config.json (Phi-3/3.5-mini, Phi-4-mini): a Llama with fused qkv_proj
 * and gate_up_proj. Names keep the file's spelling. */
export interface Phi3Config extends DecoderDims {
  rope: RopeParams;
  /** head_dim * partial_rotary_factor (Phi-4-mini rotates 3/4 of each head) */
  rotary_dim: number;
  /** keys older than this many positions are hidden (Phi-3-mini: 2047), or null */
  sliding_window: number | null;
}

export function parsePhi3Config(raw: Record<string, unknown>, file: string): Phi3Config {
  const c = new ConfigReader(raw, file);
  const scaling = raw['rope_scaling'] as Record<string, unknown> | null | undefined;
  const scalingType = scaling ? (scaling['rope_type'] ?? scaling['type']) : null;
  if (scalingType === 'longrope' || scalingType === 'su') {
    throw new ColaError(
      `${file}: rope_scaling type "${scalingType}" (LongRoPE: Phi-3-128k, Phi-3.5, Phi-4-mini) is not supported yet; use a 4k-context Phi-3 (e.g. Phi-3-mini-4k-instruct)`,
    );
  }
  const dims = readDecoderDims(c, { maxPositions: 4096, rmsNormEps: 1e-5, tieWordEmbeddings: false });
  const rope = readRope(raw, file, { defaultTheta: 10000 });
  const cfg: Phi3Config = {
    ...dims,
    rope,
    rotary_dim: rotaryDim(dims.head_dim, rope, file),
    sliding_window: raw['sliding_window'] == null ? null : c.int('sliding_window'),
  };
  const act = c.str('hidden_act', 'silu');
  if (act !== 'silu') throw new ColaError(`${file}: hidden_act "${act}" is not supported for phi3 (expected "silu")`);
  return cfg;
}
