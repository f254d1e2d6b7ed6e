import type { LoraLinear } from '../lora/loraLinear.js';
import type { ChainHistory } from './history.js';

/** Tie a knot (COLA, Xia et al. 2024, §3): record the link, merge s_j B_j A_j into
 * the base weights in f32, and start the next link with a fresh adapter (new A,
 * B = 0, possibly a new rank). The caller then builds a new optimizer. Returns
 * the Frobenius norm of the merged update. */
export function tieKnot(layers: readonly [string, LoraLinear][], history: ChainHistory, nextRank: number, seed: number): number {
  history.record(layers);
  let sq = 0;
  layers.forEach(([, l], i) => {
    const delta = l.deltaWeight();
    for (let k = 0; k < delta.length; k++) sq += delta[k]! * delta[k]!;
    l.merge({ exactUnmerge: false });
    l.resetAdapter(seed + i, nextRank);
  });
  return Math.sqrt(sq);
}

/** Re-apply recorded links in order (resuming from a checkpoint): the same f32
 * merges as the original run, so the base weights come back bit for bit. */
export function replayKnots(layers: readonly [string, LoraLinear][], history: ChainHistory): void {
  for (const link of history.links) {
    for (const [path, l] of layers) {
      const f = link.get(path);
      if (!f) throw new Error(`checkpoint has no factors for ${path}`);
      l.setAdapter(f.A, f.B, f.r, f.alpha);
      l.merge({ exactUnmerge: false });
      l.resetAdapter(0, f.r); // the live adapter is set by the caller afterwards
    }
  }
}
