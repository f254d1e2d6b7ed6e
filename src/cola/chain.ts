/** The chain of a run (COLA, Xia et al. 2024, §3): the model's adapted layers by path,
 * the merged links so far (history), the live link's optimizer, the step, and the best
 * dev evaluation. `knot()` ties a knot (merge -> fresh adapters -> new optimizer),
 * `snapshot()`/`restore()` make and read its checkpoint, `evaluate()` scores dev and
 * keeps the best. LoRA is a chain of one link; full fine-tuning trains every weight. */
import { ColaError } from '../errors.js';
import type { Metrics } from '../eval/evaluate.js';
import { applyLora, loraLayers } from '../lora/inject.js';
import { deriveSeed } from '../lora/init.js';
import { loraScale } from '../lora/config.js';
import type { LoraLinear } from '../lora/loraLinear.js';
import type { CausalLM } from '../models/causalLM.js';
import { AdamW } from '../optim/adamw.js';
import { carryMoments, installMoments, parseMomentReset } from '../optim/momentReset.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Checkpoint } from '../train/checkpoint.js';
import { parseChainState, type Best, type ChainState } from './chainState.js';
import { ChainHistory } from './history.js';
import { moduleRank, type Link } from './plan.js';
import type { RunConfig } from './runConfig.js';

/** The seed of link j's fresh adapters (layer i adds i). */
export function linkSeed(seed: number, link: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) + link * 7919) >>> 0;
}

export interface KnotRecord {
  deltaNorm: number;
}

export class Chain {
  readonly layers: [string, LoraLinear][];
  readonly history = new ChainHistory();
  optimizer: AdamW;
  step = 0;
  best: Best | null = null;
  private readonly full: boolean;

  /** Wraps the targeted layers in the first link's adapters (or unfreezes every weight
   * for full fine-tuning) and builds the first optimizer. */
  constructor(
    readonly model: CausalLM,
    readonly cfg: RunConfig,
    readonly links: readonly Link[],
  ) {
    this.full = cfg.method === 'full';
    if (this.full) {
      if (model.weightDtype !== 'f32') throw new ColaError('full fine-tuning trains every weight in f32: load the model with dtype f32');
      model.requiresGrad(true);
      this.layers = [];
    } else {
      applyLora(model, { ...cfg.lora, r: links[0]!.rank }, linkSeed(cfg.seed, 0));
      this.layers = loraLayers(model);
    }
    this.optimizer = this.newOptimizer(links[0]!);
  }

  /** The link holding `step` (the last link once the run is done). */
  linkAt(step: number): Link {
    return this.links.find((l) => step < l.end) ?? this.links.at(-1)!;
  }

  params(): Tensor[] {
    if (this.full) return this.model.parameters().filter((p) => p.requiresGrad);
    return this.layers.flatMap(([, l]) => [l.lora_A, l.lora_B]);
  }

  /** Dropout on in training, off for evaluation and knot probes. */
  setTraining(flag: boolean): void {
    for (const [, l] of this.layers) l.setTraining(flag);
  }

  /** Each layer its own dropout stream, a function of (seed, layer, micro-batch), so a
   * resumed run draws the same masks (issue 12: one seed for all layers drew one mask). */
  seedDropout(micro: number): void {
    this.layers.forEach(([, l], i) => l.setDropoutSeed(deriveSeed(this.cfg.seed, i), micro));
  }

  /** Tie the knot between `link` and `next`: record the link, merge s_j B_j A_j into the
   * weights in f32, start fresh adapters (new A, B = 0, the next link's ranks) and a new
   * optimizer (paper: full reset; ReLoRA's modes carry pruned moments, optim/momentReset.ts). */
  knot(link: Link, next: Link): KnotRecord {
    const reset = parseMomentReset(this.cfg.chain.optimizerReset, '--optimizer-reset');
    const carried = carryMoments(this.optimizer, reset, this.cfg.seed + link.index);
    this.history.record(this.layers);
    const seed = linkSeed(this.cfg.seed, next.index);
    let sq = 0;
    this.layers.forEach(([p, l], i) => {
      const delta = l.deltaWeight();
      for (let k = 0; k < delta.length; k++) sq += delta[k]! * delta[k]!;
      l.merge({ exactUnmerge: false });
      l.resetAdapter(seed + i, moduleRank(this.cfg.lora, next, p));
    });
    this.optimizer = this.newOptimizer(next);
    if (carried) installMoments(this.optimizer, carried);
    return { deltaNorm: Math.sqrt(sq) };
  }

  /** The targeted layers' base weights (merged links included): what every rank of a
   * data-parallel run must hold identically after a knot (f32 values or bf16 bits). */
  mergedWeights(): ArrayLike<number>[] {
    return this.layers.map(([, l]) => l.base_layer.weight.data);
  }

  /** Dev metrics now; a better one than the best so far (by `key`) becomes the best.
   * Returns whether it did. */
  evaluate(dev: () => Metrics, key: string, higherIsBetter: boolean): { metrics: Metrics; improved: boolean } {
    this.setTraining(false);
    const metrics = noGrad(dev);
    this.setTraining(true);
    const value = metrics[key];
    if (value === undefined)
      throw new ColaError(`dev evaluation gave no "${key}" to select by (it gave ${Object.keys(metrics).join(', ')})`);
    const prev = this.best?.metrics[key];
    const improved = prev === undefined || (higherIsBetter ? value > prev : value < prev);
    if (improved) this.best = { step: this.step, metrics };
    return { metrics, improved };
  }

  /** What a resume needs: the merged links' factors (the merged weights are rebuilt from
   * them), the live adapters, trained weights (full), the optimizer moments, the step. */
  snapshot(metricsBytes: number): Checkpoint {
    const arrays = new Map<string, Float32Array>();
    this.history.links.forEach((link, j) => {
      for (const [p, f] of link) {
        arrays.set(`link.${j}.${p}.A`, f.A);
        arrays.set(`link.${j}.${p}.B`, f.B);
      }
    });
    for (const [p, l] of this.layers) {
      arrays.set(`live.${p}.A`, l.lora_A.f32);
      arrays.set(`live.${p}.B`, l.lora_B.f32);
    }
    if (this.full) for (const [n, t] of this.model.namedParameters()) if (t.requiresGrad) arrays.set(`param.${n}`, t.f32);
    this.optimizer.m.forEach((x, i) => arrays.set(`optim.m.${i}`, x));
    this.optimizer.v.forEach((x, i) => arrays.set(`optim.v.${i}`, x));
    const state: ChainState = {
      step: this.step,
      optimT: this.optimizer.t,
      best: this.best,
      metricsBytes,
      links: this.history.links.map((link) => Object.fromEntries([...link].map(([p, f]) => [p, { r: f.r, alpha: f.alpha }]))),
    };
    return { state: { ...state }, arrays };
  }

  /** Rebuild the chain from a checkpoint: replay the merged links' knots (the same f32
   * merges, so the weights come back bit for bit), install the live adapters, trained
   * weights and optimizer moments. Returns the state (metricsBytes for the log). */
  restore(ckpt: Checkpoint, where: string): ChainState {
    const state = parseChainState(ckpt.state, `${where}/state.json`);
    const a = (name: string): Float32Array => {
      const x = ckpt.arrays.get(name);
      if (!x) throw new ColaError(`${where}: missing array ${name}; the checkpoint does not belong to this configuration`);
      return x;
    };
    state.links.forEach((meta, j) => {
      const link = new Map();
      for (const [p, f] of Object.entries(meta)) {
        link.set(p, {
          A: a(`link.${j}.${p}.A`),
          B: a(`link.${j}.${p}.B`),
          r: f.r,
          alpha: f.alpha,
          scale: loraScale(f.alpha, f.r, this.cfg.lora.useRslora),
        });
      }
      this.history.links.push(link);
    });
    this.replayKnots();
    const live = this.links[state.links.length] ?? this.links.at(-1)!;
    for (const [p, l] of this.layers) l.setAdapter(a(`live.${p}.A`), a(`live.${p}.B`), moduleRank(this.cfg.lora, live, p));
    for (const [n, t] of this.model.namedParameters()) {
      if (t.requiresGrad && ckpt.arrays.has(`param.${n}`)) t.assign(a(`param.${n}`));
    }
    this.optimizer = this.newOptimizer(live);
    this.optimizer.m.forEach((x, i) => x.set(a(`optim.m.${i}`)));
    this.optimizer.v.forEach((x, i) => x.set(a(`optim.v.${i}`)));
    this.optimizer.t = state.optimT;
    this.step = state.step;
    this.best = state.best;
    return state;
  }

  private replayKnots(): void {
    for (const link of this.history.links) {
      for (const [path, l] of this.layers) {
        const f = link.get(path);
        if (!f) throw new ColaError(`checkpoint has no factors for ${path}; it does not belong to this configuration`);
        l.setAdapter(f.A, f.B, f.r, f.alpha);
        l.merge({ exactUnmerge: false });
        l.resetAdapter(0, f.r); // the live adapter is installed afterwards
      }
    }
  }

  private newOptimizer(link: Link): AdamW {
    return new AdamW(this.params(), { lr: link.lr, weightDecay: this.cfg.optim.weightDecay });
  }
}
