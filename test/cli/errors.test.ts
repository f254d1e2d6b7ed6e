// Bad invocations and bad files through the real CLI: each exits non-zero with a short
// message naming the problem, and never a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTmpDir } from '../io/tmpdir.js';
import { cola, tinyModelDir, writeCorpus, writeRte, writeTinyLlama2c } from './harness.js';

const dir = makeTmpDir('cli-errors');
const p = (...parts: string[]) => path.join(dir, ...parts);
const model = tinyModelDir(dir);
const wide = tinyModelDir(dir, 70, true);
const corpus = writeCorpus(p('corpus.txt'));
const dataDir = writeRte(p('data'));
const fixture = 'test/fixtures/models/llama_tiny';

/** A copy of the fixture model with one file changed. */
function brokenModel(name: string, change: (dir: string) => void): string {
  const d = p(name);
  fs.cpSync(fixture, d, { recursive: true });
  change(d);
  return d;
}
const editConfig = (d: string, edit: (c: Record<string, unknown>) => void) => {
  const c = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
  edit(c);
  fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(c));
};

fs.mkdirSync(p('empty'));
const badType = brokenModel('bad-type', (d) => editConfig(d, (c) => (c['model_type'] = 'mamba')));
const badValue = brokenModel('bad-value', (d) => editConfig(d, (c) => (c['num_attention_heads'] = 5)));
const truncated = brokenModel('truncated', (d) => fs.truncateSync(path.join(d, 'model.safetensors'), 300));
fs.writeFileSync(p('bad.jsonl'), '{"text":"the cat"}\n{oops\n');
fs.writeFileSync(p('unknown-key.yaml'), 'rank: 4\nrnak: 8\n');
const { modelBin, tokBin } = writeTinyLlama2c(dir, 62);
fs.writeFileSync(p('truncated.bin'), fs.readFileSync(modelBin).subarray(0, 500));

// One real run: its adapter (for the shape mismatch) and its folder (for --out reuse).
const train = (out: string, ...extra: string[]) => [
  'train',
  '--model',
  model,
  '--data',
  corpus,
  '--max-steps',
  '4',
  '--max-length',
  '16',
  '--out',
  out,
  '--quiet',
  ...extra,
];
const done = cola(train(p('run')));
assert.equal(done.status, 0, done.stderr);
const adapter = p('run', 'adapter');

/** [what, argv, pattern the message must match] */
const cases: Array<[string, string[], RegExp]> = [
  ['unknown command', ['trian'], /unknown command "trian"/],
  ['unknown flag, with a suggestion', ['train', '--modle', model, '--out', p('x')], /unknown flag --modle \(did you mean --model\?\)/],
  ['missing --model', ['eval', '--data', corpus], /--model DIR is required/],
  ['model folder not found', ['info', '--model', p('nope')], /nope: folder not found/],
  ['folder without config.json', ['info', '--model', p('empty')], /no config\.json/],
  ['unsupported model_type', ['info', '--model', badType], /model_type "mamba" is not supported/],
  ['config.json with a bad value', ['info', '--model', badValue], /num_attention_heads \(5\)/],
  ['truncated model.safetensors', ['info', '--model', truncated], /model\.safetensors.*truncated/],
  ['unknown task', ['data', '--task', 'bogus', '--data-dir', dataDir], /unknown task "bogus"/],
  ['task files missing', ['data', '--task', 'cb', '--data-dir', dataDir], /CB.*not found/],
  ['--data file missing', ['eval', '--model', model, '--data', p('missing.jsonl')], /missing\.jsonl: file not found/],
  ['malformed JSONL line', ['eval', '--model', model, '--data', p('bad.jsonl')], /bad\.jsonl line 2: invalid JSON/],
  ['eval without data', ['eval', '--model', model], /nothing to evaluate/],
  [
    'eval with both --task and --data',
    ['eval', '--model', model, '--task', 'rte', '--data-dir', dataDir, '--data', corpus],
    /either --task.*or --data/,
  ],
  ['--task without --data-dir', ['eval', '--model', model, '--task', 'rte'], /needs --data-dir/],
  ['--temperature -1', ['generate', '--model', model, '--temperature', '-1'], /--temperature must be >= 0/],
  ['--lr abc', train(p('x'), '--lr', 'abc'), /--lr: expected a number, got "abc"/],
  ['--method bogus', train(p('x'), '--method', 'bogus'), /"bogus" is not one of lora, cola, relora, full/],
  ['--split bogus', ['eval', '--model', model, '--data', corpus, '--split', 'train'], /"train" is not one of dev, test/],
  [
    '--split with --data (scored whole)',
    ['eval', '--model', model, '--data', corpus, '--split', 'dev'],
    /--data .* is scored whole: drop --split/,
  ],
  ['boolean flag given a value', ['info', '--model', model, '--json=maybe'], /--json: expected true or false/],
  ['--config with an unknown key', train(p('x'), '--config', p('unknown-key.yaml')), /unknown key "rnak" \(did you mean --rank\?\)/],
  ['--config file missing', train(p('x'), '--config', p('nope.yaml')), /--config .*nope\.yaml: file not found/],
  ['adapter for a different model', ['eval', '--model', wide, '--adapter', adapter, '--data', corpus], /does not fit this model/],
  ['adapter folder missing', ['generate', '--model', model, '--adapter', p('nope')], /adapter_config\.json is missing/],
  ['convert with missing args', ['convert', 'llama2c', modelBin], /usage: cola convert llama2c/],
  [
    'convert from an unknown format',
    ['convert', 'onnx', modelBin, tokBin, p('cv')],
    /unknown source format "onnx"; supported: llama2c, gguf/,
  ],
  ['convert gguf of a file that is not GGUF', ['convert', 'gguf', modelBin, p('cv-gguf')], /does not start with "GGUF".*not a GGUF file/],
  ['convert gguf with missing args', ['convert', 'gguf', modelBin], /usage: cola convert gguf FILE.gguf OUT_DIR/],
  ['convert of a truncated llama2.c file', ['convert', 'llama2c', p('truncated.bin'), tokBin, p('cv')], /truncated\.bin.*truncated/],
  ['export without merged', ['export', '--model', model, '--adapter', adapter, '--out', p('m')], /say what to export; supported: merged/],
  ['export of an unknown kind', ['export', 'onnx', '--model', model, '--adapter', adapter, '--out', p('m')], /unknown export kind "onnx"/],
  ['export gguf to a name without .gguf', ['export', 'gguf', '--model', model, '--out', p('m')], /must end in .gguf/],
  [
    'export gguf with a merged-only flag',
    ['export', 'gguf', '--model', model, '--out', p('m.gguf'), '--max-shard-mb', '5'],
    /--max-shard-mb does not apply to export gguf/,
  ],
  [
    'export merged with --gguf-type',
    ['export', 'merged', '--model', model, '--adapter', adapter, '--out', p('m'), '--gguf-type', 'q8_0'],
    /--gguf-type does not apply to export merged/,
  ],
  ['export without --adapter', ['export', 'merged', '--model', model, '--out', p('m')], /--adapter is required/],
  [
    'export over the base model',
    ['export', 'merged', '--model', model, '--adapter', adapter, '--out', model],
    /--out must differ from --model/,
  ],
  ['--resume with no checkpoint', train(p('fresh'), '--resume'), /--resume given but the run folder has no checkpoint/],
  ['--out already holding a run', train(p('run')), /already holds a run; pass --resume/],
  ['--link-ranks 0', train(p('x'), '--link-ranks', '0'), /--link-ranks: expected integers of at least 1/],
  ['--max-steps 0x2 (hex is not a step count)', train(p('x'), '--max-steps', '0x2'), /--max-steps: expected an integer, got "0x2"/],
  ['--knots beyond the run', train(p('x'), '--method', 'cola', '--knots', '100'), /knots must be .* inside the run/],
  ['--optimizer-reset bogus', train(p('x'), '--optimizer-reset', 'sometimes'), /--optimizer-reset: expected full, none/],
  ['--out naming the model folder', train(model), /--out .*: the folder holds a model, adapter or tokenizer/],
  ['--out naming a file', train(corpus), /--out .*corpus\.txt: is a file, expected a folder/],
  ['convert into a run folder', ['convert', 'llama2c', modelBin, tokBin, p('run')], /OUT_DIR .*run: the folder holds a cola run/],
  [
    'export merged into a run folder',
    ['export', 'merged', '--model', model, '--adapter', adapter, '--out', p('run')],
    /--out .*run: the folder holds a cola run/,
  ],
  ['convert over a model folder', ['convert', 'llama2c', modelBin, tokBin, model], /OUT_DIR .*: the folder holds a model/],
  ['--max-memory without a size', train(p('x'), '--max-memory', '8Q'), /--max-memory: expected a size in bytes .* got "8Q"/],
  ['a model over --max-memory', ['eval', '--model', model, '--data', corpus, '--max-memory', '1K'], /more than the --max-memory limit/],
];

for (const [what, args, pattern] of cases) {
  test(`error: ${what}`, () => {
    const r = cola(args);
    assert.notEqual(r.status, 0, `exit 0 for cola ${args.join(' ')}`);
    assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stderr, /^\s+at /m, `stack trace:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /internal error/);
    assert.ok(r.stderr.split('\n').length <= 12, `too long:\n${r.stderr}`);
  });
}

test('--debug shows the stack trace the default hides', () => {
  const r = cola(['info', '--model', p('empty'), '--debug']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /^\s+at /m);
});
