import type { ChainLink } from '../lora/chain.js';
import type { LoraLinear } from '../lora/loraLinear.js';

/** The factors of one finished link for one module (what was merged at its knot),
 * plus the alpha needed to re-install them on resume. */
export interface LinkFactors extends ChainLink {
  alpha: number;
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
      link.set(path, { A: l.lora_A.f32.slice(), B: l.lora_B.f32.slice(), r: l.r, alpha: l.alpha, scale: l.scaling });
    }
    this.links.push(link);
  }
}
