/** A uniform source in [0, 1). */
export type Rng = () => number;

/** mulberry32 (Tommy Ettinger): a small, fast 32-bit PRNG; the same seed gives the
 * same stream on every machine (LoRA init, random weights, sampling). */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
