import type { FileProgress } from '../../hub/download.js';
import { pullModel } from '../../hub/pull.js';
import { ColaError } from '../../errors.js';
import type { Command } from '../command.js';

export const pullCommand: Command = {
  name: 'pull',
  summary: 'download a model folder (config, tokenizer, safetensors) from the Hugging Face Hub',
  usage: 'cola pull ORG/NAME [--revision REV] [--out DIR]   (env: HF_TOKEN for gated/private repos, HF_ENDPOINT for a mirror)',
  options: {
    revision: { type: 'string', default: 'main', help: 'branch, tag or commit to download' },
    out: {
      type: 'string',
      meta: 'DIR',
      help: 'folder to write (default: models/ORG/NAME); files already there with the right size are kept',
    },
    quiet: { type: 'boolean', help: 'no progress on stderr' },
  },
  async run(v, pos) {
    if (pos.length !== 1) {
      throw new ColaError(
        `${pos.length ? `expected one model id, got ${pos.length}: ${pos.join(' ')}` : 'say which model'} (usage: cola pull ORG/NAME [--revision REV] [--out DIR])`,
      );
    }
    const show = v['quiet'] ? () => {} : progressLine();
    const r = await pullModel(pos[0]!, {
      revision: v['revision'] as string,
      outDir: v['out'] as string | undefined,
      onProgress: show,
      onSkip: (f) => v['quiet'] || process.stderr.write(`  ${f}: already there\n`),
    });
    if (!v['quiet']) {
      const at = r.sha ? `@${r.sha.slice(0, 12)}` : '';
      process.stderr.write(
        `cola pull: ${pos[0]}${at} -> ${r.dir} (${r.downloaded.length} downloaded, ${r.skipped.length} already there); next: cola info --model ${r.dir}\n`,
      );
    }
    process.stdout.write(r.dir + '\n'); // the folder alone on stdout, for DIR=$(cola pull ...)
    return 0;
  },
};

/** A live line per file on a terminal; in pipes and CI one line per finished file. */
function progressLine(): (p: FileProgress) => void {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return (p) => {
    const pct = p.total ? ` ${((100 * p.bytes) / p.total).toFixed(0)}%` : '';
    const line = `  ${p.file}: ${mb(p.bytes)}${p.total !== null ? ` / ${mb(p.total)}` : ''}${pct}`;
    if (tty && (p.done || Date.now() - last > 100)) {
      process.stderr.write(`\r\x1b[2K${line}${p.done ? '\n' : ''}`);
      last = Date.now();
    } else if (!tty && (p.done || Date.now() - last > 5000)) {
      process.stderr.write(line + '\n');
      last = Date.now();
    }
  };
}

function mb(bytes: number): string {
  return bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
}
