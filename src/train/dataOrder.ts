import { batchOrder } from '../data/batching.js';

/** The example indices of every micro-batch, as a pure function of its global
 * index: epoch = floor(i / perEpoch), order seeded by (seed, epoch). A resume
 * therefore needs only the step counter to continue the same data stream. */
export class DataOrder {
  private cachedEpoch = -1;
  private cached: number[][] = [];
  readonly perEpoch: number;

  constructor(
    private readonly lengths: number[],
    private readonly batchSize: number,
    private readonly seed: number,
  ) {
    this.perEpoch = Math.ceil(lengths.length / batchSize);
  }

  batch(microIndex: number): number[] {
    const epoch = Math.floor(microIndex / this.perEpoch);
    if (epoch !== this.cachedEpoch) {
      this.cached = batchOrder(this.lengths, { batchSize: this.batchSize, seed: this.seed, epoch });
      this.cachedEpoch = epoch;
    }
    return this.cached[microIndex % this.perEpoch]!;
  }
}
