import type { ChainLink } from '../lora/chain.js';
import type { LoraLinear } from '../lora/loraLinear.js';
import type { Factors } from '../lora/weightInit.js';

/** The factors of one finished link for one module (what was merged at its knot),
 * plus what is needed to re-install them on resume: the alpha, PiSSA/OLoRA's init
 * factors (subtracted from the base when the link started) and DoRA's trained
 * magnitude m_j (rowScale, from ChainLink, is m_j / ||W + s B A||_row at the knot). */
export interface LinkFactors extends ChainLink {
  alpha: number;
  init?: Factors;
  magnitude?: Float32Array;
}

/** Every merged link, per module path: the whole learned update is
 * Σ_j s_j B_j A_j (method.md §2), kept so the chain can be exported as one
 * PEFT adapter and a checkpoint can rebuild the merged weights without storing them. */
export class ChainHistory {
  readonly links: Map<string, LinkFactors>[] = [];

  /** Snapshot the live adapters (before their knot). */
  record(layers: readonly [string, LoraLinear][]): void {
    const link = new Map<string, LinkFactors>();
    for (const [path, l] of layers) {
      link.set(path, {
        A: l.lora_A.f32.slice(),
        B: l.lora_B.f32.slice(),
        r: l.r,
        alpha: l.alpha,
        scale: l.scaling,
        init: l.initFactors ?? undefined,
        magnitude: l.lora_magnitude_vector?.f32.slice(),
        rowScale: l.doraFactor() ?? undefined,
      });
    }
    this.links.push(link);
  }
}
