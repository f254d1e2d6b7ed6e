/** The chain of a run (COLA, Xia et al. 2024, §3): the model's adapted layers by path,
 * the merged links so far (history), the live link's optimizer, the step, and the best
 * dev evaluation. `knot()` ties a knot (merge -> fresh adapters -> new optimizer),
 * `snapshot()`/`restore()` make and read its checkpoint, `evaluate()` scores dev and
 * keeps the best. LoRA is a chain of one link; full fine-tuning trains every weight. */
import { ColaError } from '../errors.js';
import type { Metrics } from '../eval/evaluate.js';
import { applyLora, loraLayers } from '../lora/inject.js';
import { deriveSeed } from '../lora/init.js';
import { isLoftqInit, isWeightInit, loraScale } from '../lora/config.js';
import type { LoraLinear, MergeOptions } from '../lora/loraLinear.js';
import type { CausalLM } from '../models/causalLM.js';
import { dropDenseSources, isQuantized } from '../models/quantize.js';
import { QuantizedLinear } from '../nn/quantizedLinear.js';
import { AdamW, type ParamGroup } from '../optim/adamw.js';
import { carryMoments, installMoments, parseMomentReset } from '../optim/momentReset.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Checkpoint } from '../train/checkpoint.js';
import { parseChainState, type Best, type ChainState } from './chainState.js';
import type { EarlyStop } from './earlyStop.js';
import { ChainHistory, type LinkFactors } from './history.js';
import { moduleRank, type Link } from './plan.js';
import type { RunConfig } from './runConfig.js';

/** The seed of link j's fresh adapters (layer i adds i). */
export function linkSeed(seed: number, link: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) + link * 7919) >>> 0;
}

export interface KnotRecord {
  deltaNorm: number;
  /** --knot-into-base: the largest relative Frobenius error re-quantizing added to an
   * adapted layer, |dequant(W') - (W + ΔW)| / |W + ΔW|; null otherwise */
  requantError: number | null;
}

/** How to get a dense base: drop --quantize, or (issue 17) widen a file that stores its
 * linear weights quantized (a Q8_0 / Q4_0 GGUF, a llama2.c int8 .bin), where dropping
 * --quantize changes nothing. */
function denseBaseFix(model: CausalLM): string {
  if (model.quantizeOnLoad) return 'drop --quantize';
  return (
    'the model file itself stores its linear weights quantized (a Q8_0 / Q4_0 GGUF or a llama2.c int8 .bin), so there is no --quantize to drop: ' +
    'widen it to a dense folder first (`cola convert gguf FILE.gguf OUT_DIR` or `cola convert llama2c MODEL.bin TOKENIZER.bin OUT_DIR`) and train on OUT_DIR'
  );
}

export class Chain {
  readonly layers: [string, LoraLinear][];
  readonly history = new ChainHistory();
  optimizer: AdamW;
  step = 0;
  best: Best | null = null;
  /** dev evaluations in a row that did not beat `best` (early stopping's count) */
  sinceBest = 0;
  /** set when the run stopped early (earlyStop.ts); the chain trains no further */
  earlyStop: EarlyStop | null = null;
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
      if (isQuantized(model))
        throw new ColaError(
          `full fine-tuning cannot train quantized weights: ${denseBaseFix(model)} (or train an adapter: --method lora or cola)`,
        );
      model.requiresGrad(true);
      this.layers = [];
    } else {
      // DoRA and PiSSA/OLoRA rewrite or renormalise the dense weight; a quantized base
      // keeps its codes frozen (issue 17), so they do not combine (yet)
      if (isQuantized(model) && (cfg.lora.useDora || isWeightInit(cfg.lora.init)))
        throw new ColaError(
          `a quantized base keeps its weights frozen as codes: ${cfg.lora.useDora ? '--use-dora' : `--lora-init ${cfg.lora.init}`} needs a dense base; ${denseBaseFix(model)}, or drop that option`,
        );
      if (isLoftqInit(cfg.lora.init) && !isQuantized(model))
        throw new ColaError(
          `--lora-init ${cfg.lora.init} (LoftQ) chooses a quantized base's codes together with the first adapter: load the model with --quantize nf4|q4_0|int8|q8_0, or use another --lora-init`,
        );
      // A resume installs the recorded PiSSA/OLoRA init instead of computing one (restore)
      applyLora(model, { ...cfg.lora, r: links[0]!.rank }, linkSeed(cfg.seed, 0), { deferWeightInit: cfg.resume });
      dropDenseSources(model); // kept for LoftQ (loraLinear.ts loftqFirstLink): the untargeted layers' are not needed
      this.layers = loraLayers(model);
      if (cfg.chain.knotIntoBase && !this.layers.some(([, l]) => l.base_layer instanceof QuantizedLinear))
        throw new ColaError('--knot-into-base re-quantizes knots into a quantized base: load the model with --quantize');
    }
    this.optimizer = this.newOptimizer(links[0]!);
  }

  /** The link holding `step` (the last link once the run is done). */
  linkAt(step: number): Link {
    return this.links.find((l) => step < l.end) ?? this.links.at(-1)!;
  }

  params(): Tensor[] {
    if (this.full) return this.model.parameters().filter((p) => p.requiresGrad);
    return this.layers.flatMap(([, l]) => (l.lora_magnitude_vector ? [l.lora_A, l.lora_B, l.lora_magnitude_vector] : [l.lora_A, l.lora_B]));
  }

  /** LoRA+ (Hayou et al. 2024, arXiv 2402.12354; PEFT's create_loraplus_optimizer): B at
   * lr * ratio, A at lr. As in PEFT, 1-D parameters (DoRA's magnitude) go with B. */
  private paramGroups(): ParamGroup[] | undefined {
    const ratio = this.cfg.optim.loraplusLrRatio;
    if (ratio === undefined || this.full) return undefined;
    return [
      { name: 'lora_A', params: this.layers.map(([, l]) => l.lora_A), lrScale: 1 },
      {
        name: 'lora_B',
        params: this.layers.flatMap(([, l]) => (l.lora_magnitude_vector ? [l.lora_B, l.lora_magnitude_vector] : [l.lora_B])),
        lrScale: ratio,
      },
    ];
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
   * optimizer (paper: full reset; ReLoRA's modes carry pruned moments, optim/momentReset.ts).
   * DoRA: the merge folds the whole DoRA weight m (W + s B A) / ||W + s B A||_row into the
   * base and the next link starts with a fresh magnitude m = ||W_merged||_row (the trained m
   * is not carried over). PiSSA/OLoRA: the next link's A, B come from the merged weight,
   * which becomes the residual (docs/lora-variants.md). */
  knot(link: Link, next: Link): KnotRecord {
    const reset = parseMomentReset(this.cfg.chain.optimizerReset, '--optimizer-reset');
    const carried = carryMoments(this.optimizer, reset, this.cfg.seed + link.index);
    this.history.record(this.layers);
    const seed = linkSeed(this.cfg.seed, next.index);
    let sq = 0;
    let requantError = 0;
    this.layers.forEach(([p, l], i) => {
      sq += l.merged ? 0 : linkChangeSq(l);
      requantError = Math.max(requantError, l.merge(this.mergeOptions(l)));
      l.resetAdapter(seed + i, moduleRank(this.cfg.lora, next, p));
    });
    this.optimizer = this.newOptimizer(next);
    if (carried) installMoments(this.optimizer, carried);
    return { deltaNorm: Math.sqrt(sq), requantError: this.cfg.chain.knotIntoBase ? requantError : null };
  }

  /** The targeted layers' base weights (merged links included): what every rank of a
   * data-parallel run must hold identically after a knot (f32 values or bf16 bits; a
   * quantized base: its dequantized weight plus the frozen residual). */
  mergedWeights(): ArrayLike<number>[] {
    return this.layers.map(([, l]) =>
      l.base_layer instanceof QuantizedLinear ? l.base_layer.effectiveWeight() : l.base_layer.weight.data,
    );
  }

  /** Dev metrics now; a better one than the best so far (by `key`) becomes the best
   * (a tie does not), else the count of evaluations since the best grows. Returns
   * whether it improved. */
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
    this.sinceBest = improved ? 0 : this.sinceBest + 1;
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
    this.history.links.forEach((link, j) => {
      for (const [p, f] of link) putExtras(arrays, `link.${j}.${p}`, f.init, f.magnitude);
    });
    for (const [p, l] of this.layers) {
      arrays.set(`live.${p}.A`, l.lora_A.f32);
      arrays.set(`live.${p}.B`, l.lora_B.f32);
      putExtras(arrays, `live.${p}`, l.initFactors ?? undefined, l.lora_magnitude_vector?.f32);
    }
    if (this.full) for (const [n, t] of this.model.namedParameters()) if (t.requiresGrad) arrays.set(`param.${n}`, t.f32);
    this.optimizer.m.forEach((x, i) => arrays.set(`optim.m.${i}`, x));
    this.optimizer.v.forEach((x, i) => arrays.set(`optim.v.${i}`, x));
    const state: ChainState = {
      step: this.step,
      optimT: this.optimizer.t,
      best: this.best,
      sinceBest: this.sinceBest,
      earlyStop: this.earlyStop,
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
    const weightInit = isWeightInit(this.cfg.lora.init);
    const dora = this.cfg.lora.useDora;
    const initOf = (key: string) => (weightInit ? { A: a(`${key}.init.A`), B: a(`${key}.init.B`) } : undefined);
    state.links.forEach((meta, j) => {
      const link = new Map<string, LinkFactors>();
      for (const [p, f] of Object.entries(meta)) {
        const key = `link.${j}.${p}`;
        link.set(p, {
          A: a(`${key}.A`),
          B: a(`${key}.B`),
          r: f.r,
          alpha: f.alpha,
          scale: loraScale(f.alpha, f.r, this.cfg.lora.useRslora),
          init: initOf(key),
          magnitude: dora ? a(`${key}.m`) : undefined,
        });
      }
      this.history.links.push(link);
    });
    this.replayKnots();
    const live = this.links[state.links.length] ?? this.links.at(-1)!;
    for (const [p, l] of this.layers) {
      const r = moduleRank(this.cfg.lora, live, p);
      l.resetAdapter(0, r, l.alpha, { deferWeightInit: true });
      const init = initOf(`live.${p}`);
      if (init) l.foldInit(init);
      l.setAdapter(a(`live.${p}.A`), a(`live.${p}.B`), r);
      if (dora) l.setMagnitude(a(`live.${p}.m`));
    }
    for (const [n, t] of this.model.namedParameters()) {
      if (t.requiresGrad && ckpt.arrays.has(`param.${n}`)) t.assign(a(`param.${n}`));
    }
    this.optimizer = this.newOptimizer(live);
    this.optimizer.m.forEach((x, i) => x.set(a(`optim.m.${i}`)));
    this.optimizer.v.forEach((x, i) => x.set(a(`optim.v.${i}`)));
    this.optimizer.t = state.optimT;
    this.step = state.step;
    this.best = state.best;
    this.sinceBest = state.sinceBest;
    this.earlyStop = state.earlyStop;
    return state;
  }

  private replayKnots(): void {
    for (const link of this.history.links) {
      for (const [path, l] of this.layers) {
        const f = link.get(path);
        if (!f) throw new ColaError(`checkpoint has no factors for ${path}; it does not belong to this configuration`);
        // the same f32 operations as the run: the init fold, then the merge
        l.resetAdapter(0, f.r, f.alpha, { deferWeightInit: true });
        if (f.init) l.foldInit(f.init);
        l.setAdapter(f.A, f.B, f.r, f.alpha);
        if (f.magnitude) l.setMagnitude(f.magnitude);
        l.merge(this.mergeOptions(l));
        l.resetAdapter(0, f.r, f.alpha, { deferWeightInit: true }); // the live adapter is installed afterwards
      }
    }
  }

  /** A knot merges in f32 into a dense base; on a quantized base (issue 17) it joins the
   * frozen residual, or with --knot-into-base is re-quantized into the codes. */
  private mergeOptions(l: LoraLinear): MergeOptions {
    return { exactUnmerge: false, requantize: this.cfg.chain.knotIntoBase && l.base_layer instanceof QuantizedLinear };
  }

  private newOptimizer(link: Link): AdamW {
    return new AdamW(this.params(), { lr: link.lr, weightDecay: this.cfg.optim.weightDecay, groups: this.paramGroups() });
  }
}

/** ||W_merged - W_link_start||^2 of the merge about to happen, where the link started at
 * base + s B0 A0 (PiSSA/OLoRA; B0 = 0 otherwise): ||s B A||^2 for plain LoRA, the learned
 * change s (B A - B0 A0) for PiSSA/OLoRA, and the whole change of the weight for DoRA. */
function linkChangeSq(l: LoraLinear): number {
  const [out, inF, r, s] = [l.outFeatures, l.inFeatures, l.r, l.scaling];
  const delta = l.deltaWeight();
  const factor = l.doraFactor();
  const W = factor || l.initFactors ? l.weightF32() : null;
  let sq = 0;
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inF; i++) {
      const k = o * inF + i;
      let d = factor ? factor[o]! * (W![k]! + delta[k]!) - W![k]! : delta[k]!;
      if (l.initFactors) {
        const { A, B } = l.initFactors;
        for (let j = 0; j < r; j++) d -= s * B[o * r + j]! * A[j * inF + i]!;
      }
      sq += d * d;
    }
  }
  return sq;
}

/** A link's PiSSA/OLoRA init factors and DoRA magnitude, when it has them. */
function putExtras(
  arrays: Map<string, Float32Array>,
  key: string,
  init: { A: Float32Array; B: Float32Array } | undefined,
  m?: Float32Array,
): void {
  if (init) {
    arrays.set(`${key}.init.A`, init.A);
    arrays.set(`${key}.init.B`, init.B);
  }
  if (m) arrays.set(`${key}.m`, m);
}
