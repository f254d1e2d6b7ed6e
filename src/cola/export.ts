import * as path from 'node:path';
import { writeJsonAtomic } from '../io/fileIo.js';
import type { ChainLink } from '../lora/chain.js';
import type { LoraLinear } from '../lora/loraLinear.js';
import { saveChainAdapter } from '../lora/peft.js';
import type { CausalLM } from '../models/causalLM.js';
import { saveModelFolder } from '../models/save.js';
import type { ChainHistory } from './history.js';
import type { Link } from './plan.js';
import type { RunConfig } from './run.js';

/** Per module, every link in order: the merged ones from the history plus the live adapter. */
export function chainLinks(layers: readonly [string, LoraLinear][], history: ChainHistory): Map<string, ChainLink[]> {
  const chain = new Map<string, ChainLink[]>();
  for (const [p, l] of layers) {
    const merged = history.links.map((link) => link.get(p)!);
    chain.set(p, [...merged, { A: l.lora_A.f32, B: l.lora_B.f32, r: l.r, scale: l.scaling }]);
  }
  return chain;
}

/** Write a run's outputs: adapter/ (the whole chain as ONE PEFT LoRA of rank
 * Σ r_j), optionally links/link-j/ (one adapter per link), chain.json (the
 * manifest); full fine-tuning writes model/ (a complete model folder). */
export function exportChain(
  cfg: RunConfig,
  model: CausalLM,
  layers: readonly [string, LoraLinear][],
  history: ChainHistory,
  links: Link[],
  baseModel: string,
  adapterOnly = false,
): void {
  const meta = { method: cfg.method, seed: cfg.seed, weight_dtype: model.weightDtype };
  if (cfg.method === 'full') {
    saveModelFolder(model, path.join(cfg.outDir, 'model'));
  } else {
    const chain = chainLinks(layers, history);
    saveChainAdapter(path.join(cfg.outDir, 'adapter'), chain, cfg.lora, { baseModel, colaMeta: meta });
    if (cfg.saveLinkAdapters && !adapterOnly) {
      const count = [...chain.values()][0]!.length;
      for (let j = 0; j < count; j++) {
        const one = new Map([...chain].map(([p, ls]) => [p, [ls[j]!]]));
        saveChainAdapter(path.join(cfg.outDir, 'links', `link-${j}`), one, cfg.lora, { baseModel, colaMeta: { ...meta, link: j } });
      }
    }
  }
  if (adapterOnly) return;
  const first = layers[0]?.[0];
  writeJsonAtomic(path.join(cfg.outDir, 'chain.json'), {
    method: cfg.method,
    base_model: baseModel,
    weight_dtype: model.weightDtype,
    seed: cfg.seed,
    total_steps: links.at(-1)?.end ?? 0,
    knots: links.slice(1).map((l) => l.start),
    chain_schedule: cfg.chainSchedule,
    optimizer_reset: cfg.optimizerReset,
    targets: layers.map(([p]) => p),
    links: links.map((l, j) => ({
      index: l.index,
      start: l.start,
      end: l.end,
      steps: l.end - l.start,
      rank: l.rank,
      lr: l.lr,
      alpha: cfg.lora.alpha,
      scale: first ? (j < history.links.length ? history.links[j]!.get(first)!.scale : layers[0]![1].scaling) : null,
      init_seed: j,
    })),
    exported_adapter:
      cfg.method === 'full'
        ? null
        : { rank: links.reduce((s, l) => s + l.rank, 0), lora_alpha: 'equal to rank (s = 1), link scales folded into lora_B' },
  });
}
