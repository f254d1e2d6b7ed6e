import { RUN_FLAGS } from '../../cola/runFlags.js';
import '../../models/families.js';
import { modelFamilies } from '../../models/registry.js';
import type { Command } from '../command.js';

export const modelsCommand: Command = {
  name: 'models',
  summary: 'list the supported architectures (config.json model_type) and their LoRA target names',
  usage: 'cola models [--json]',
  options: { json: { type: 'boolean', help: 'print one JSON object on stdout' } },
  run(v) {
    const defaults = RUN_FLAGS.targets.default;
    const families = modelFamilies().map((f) => {
      const names = f.blockLinears.map((p) => p.split('.').pop()!);
      return {
        model_types: f.modelTypes,
        about: f.about,
        block_linears: f.blockLinears,
        other_linears: f.otherLinears ?? null,
        default_targets_apply: defaults.every((t) => names.includes(t)),
      };
    });
    if (v['json']) {
      process.stdout.write(JSON.stringify({ default_targets: defaults, families }) + '\n');
      return 0;
    }
    const lines = families.flatMap((f) => [
      `${f.model_types.join(', ')}: ${f.about}`,
      `  LoRA targets (--targets, module-name suffixes) in every block: ${f.block_linears.join(', ')}`,
      ...(f.other_linears ? [`  also: ${f.other_linears}`] : []),
      ...(f.default_targets_apply ? [] : [`  the default --targets ${defaults.join(',')} match nothing here: name some of the above`]),
    ]);
    lines.push(
      '',
      `Default --targets: ${defaults.join(',')} (the paper's); --targets all-linear adapts every Linear but the LM head.`,
      "A model folder with another model_type is refused; `cola info --model DIR` lists one folder's modules.",
    );
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
