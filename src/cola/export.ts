/** A run's outputs: adapter/ (the whole chain as ONE PEFT LoRA of rank Σ r_j),
 * optionally links/link-j/ (one adapter per link), chain.json (the manifest); full
 * fine-tuning writes model/ (a complete model folder). */
import * as path from 'node:path';
import { writeJsonAtomic } from '../io/fileIo.js';
import { initFoldLink, type ChainLink } from '../lora/chain.js';
import type { LoraLinear } from '../lora/loraLinear.js';
import { loftqBits, loftqIterOf } from '../lora/loftq.js';
import { QuantizedLinear } from '../nn/quantizedLinear.js';
import { saveChainAdapter } from '../lora/peft.js';
import { saveModelFolder } from '../models/save.js';
import { linkSeed, type Chain } from './chain.js';
import type { ChainHistory } from './history.js';
import type { Link } from './plan.js';
import type { RunConfig } from './runConfig.js';

/** Per module, per link: its steps in order (the PiSSA/OLoRA init fold (A0, -B0), then the
 * trained adapter with DoRA's row scale), the merged links from the history, then the live
 * one. Relative to the ORIGINAL weights, so the export needs no init on load. */
function chainLinks(layers: readonly [string, LoraLinear][], history: ChainHistory): Map<string, ChainLink[][]> {
  const chain = new Map<string, ChainLink[][]>();
  for (const [p, l] of layers) {
    const merged = history.links.map((link) => {
      const f = link.get(p)!;
      return [...(f.init ? [initFoldLink(f.init.A, f.init.B, f.r, f.scale)] : []), f];
    });
    const init = l.initFactors ? [initFoldLink(l.initFactors.A, l.initFactors.B, l.r, l.scaling)] : [];
    chain.set(p, [...merged, [...init, { A: l.lora_A.f32, B: l.lora_B.f32, r: l.r, scale: l.scaling }]]);
  }
  return chain;
}

/** LoftQ (lora/loftq.ts): loftq_bits for adapter_config.json and, in cola_chain.json, the
 * first link's rank per module (the exported adapter's rank is the chain's Σ r_j, but the
 * codes a loader must rebuild depend on link 0's rank). Null for other inits. */
function loftqExport(chain: Chain): { bits: number; meta: { loftq_ranks: Record<string, number> } } | null {
  if (loftqIterOf(chain.cfg.lora.init) === null || chain.layers.length === 0) return null;
  const base = chain.layers[0]![1].base_layer;
  if (!(base instanceof QuantizedLinear)) return null;
  const ranks = Object.fromEntries(chain.layers.map(([p, l]) => [p, chain.history.links[0]?.get(p)?.r ?? l.r]));
  return { bits: loftqBits(base.format), meta: { loftq_ranks: ranks } };
}

/** DoRA: each module's magnitude for link j's own adapter (the live m for the whole chain:
 * stackChain's unrolling makes the final magnitude the exported one). */
function magnitudes(chain: Chain, j: number | 'live'): Map<string, Float32Array> | undefined {
  if (!chain.cfg.lora.useDora) return undefined;
  return new Map(
    chain.layers.map(([p, l]) => [
      p,
      j === 'live' ? l.lora_magnitude_vector!.f32 : (chain.history.links[j]?.get(p)?.magnitude ?? l.lora_magnitude_vector!.f32),
    ]),
  );
}

export interface ExportArgs {
  cfg: RunConfig;
  chain: Chain;
  /** the links, for chain.json: the planned ones, or those that trained when the run stopped early */
  links: readonly Link[];
  baseModel: string;
  outDir: string;
  /** write adapter/ only (the best-on-dev export) */
  adapterOnly?: boolean;
}

export function exportChain(a: ExportArgs): void {
  const { cfg, chain } = a;
  const model = chain.model;
  const meta = { method: cfg.method, seed: cfg.seed, weight_dtype: model.weightDtype };
  if (cfg.method === 'full') {
    if (!a.adapterOnly) saveModelFolder(model, path.join(a.outDir, 'model'));
  } else {
    const links = chainLinks(chain.layers, chain.history);
    const whole = new Map([...links].map(([p, ls]) => [p, ls.flat()]));
    const loftq = loftqExport(chain);
    saveChainAdapter(path.join(a.outDir, 'adapter'), whole, cfg.lora, {
      baseModel: a.baseModel,
      colaMeta: { ...meta, ...loftq?.meta },
      magnitudes: magnitudes(chain, 'live'),
      loftqBits: loftq?.bits,
    });
    if (cfg.saveLinkAdapters && !a.adapterOnly) {
      const count = [...links.values()][0]!.length;
      for (let j = 0; j < count; j++) {
        // link j alone, relative to the weights after link j - 1's knot
        const one = new Map([...links].map(([p, ls]) => [p, ls[j]!.map((l) => ({ ...l, rowScale: undefined }))]));
        // link j > 0 of a LoftQ run is a plain (kaiming) link relative to the weights after the knot
        const linkCfg = j > 0 && loftq ? { ...cfg.lora, init: 'kaiming' as const } : cfg.lora;
        saveChainAdapter(path.join(a.outDir, 'links', `link-${j}`), one, linkCfg, {
          baseModel: a.baseModel,
          colaMeta: { ...meta, link: j, ...(j === 0 ? loftq?.meta : {}) },
          magnitudes: magnitudes(chain, j === count - 1 ? 'live' : j),
          loftqBits: j === 0 ? loftq?.bits : undefined,
        });
      }
    }
  }
  if (!a.adapterOnly) writeJsonAtomic(path.join(a.outDir, 'chain.json'), manifest(a));
}

/** chain.json: what each link was, with the values actually used (rank, alpha and scale
 * of the first adapted module, the seed its A was drawn from: layer i adds i). */
function manifest({ cfg, chain, links, baseModel }: ExportArgs): Record<string, unknown> {
  const first = chain.layers[0];
  const factors = (j: number): { r: number; alpha: number; scale: number } | null => {
    if (!first) return null;
    const merged = chain.history.links[j]?.get(first[0]);
    const l = first[1];
    return merged ? { r: merged.r, alpha: merged.alpha, scale: merged.scale } : { r: l.r, alpha: l.alpha, scale: l.scaling };
  };
  return {
    method: cfg.method,
    base_model: baseModel,
    weight_dtype: chain.model.weightDtype,
    seed: cfg.seed,
    total_steps: links.at(-1)?.end ?? 0,
    knots: links.slice(1).map((l) => l.start),
    chain_schedule: cfg.chain.schedule,
    optimizer_reset: cfg.chain.optimizerReset,
    eval: {
      every: cfg.eval.every === 0 ? 'epoch' : cfg.eval.every,
      at_knots: cfg.eval.atKnots,
      select_by: cfg.eval.selectBy,
      early_stopping_patience: cfg.eval.earlyStoppingPatience ?? null,
    },
    best: chain.best,
    early_stop: chain.earlyStop,
    targets: chain.layers.map(([p]) => p),
    links: links.map((l, j) => {
      const f = factors(j);
      return {
        index: l.index,
        start: l.start,
        end: l.end,
        steps: l.end - l.start,
        rank: l.rank,
        lr: l.lr,
        alpha: f?.alpha ?? null,
        scale: f?.scale ?? null,
        init_seed: cfg.method === 'full' ? null : linkSeed(cfg.seed, j),
      };
    }),
    exported_adapter:
      cfg.method === 'full'
        ? null
        : {
            rank: chain.layers.reduce((s, [p]) => Math.max(s, chainLinksRank(chain, p)), 0),
            lora_alpha: 'equal to rank (s = 1), link scales folded into lora_B',
          },
  };
}

/** Σ r_j of one module's chain (PiSSA/OLoRA: twice that, each link's init fold included). */
function chainLinksRank(chain: Chain, p: string): number {
  const live = chain.layers.find(([q]) => q === p)![1];
  const twice = (f: { init?: unknown; r: number }) => (f.init ? 2 * f.r : f.r);
  return chain.history.links.reduce(
    (s, link) => s + twice(link.get(p) ?? { r: 0 }),
    twice({ init: live.initFactors ?? undefined, r: live.r }),
  );
}
