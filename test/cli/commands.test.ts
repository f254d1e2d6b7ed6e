// End-to-end through the real CLI (node bin/cola.js) on a tiny converted llama2.c model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { commands } from '../../src/cli/commands/index.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { makeTmpDir } from '../io/tmpdir.js';
import { colaBin } from '../helpers/trainRuns.js';
import { cola, tinyModelDir, writeCorpus, writeRte, writeTinyLlama2c } from './harness.js';

const dir = makeTmpDir('cli');
const model = tinyModelDir(dir);
const corpus = writeCorpus(path.join(dir, 'corpus.txt'));
const dataDir = writeRte(path.join(dir, 'data'));
const run = path.join(dir, 'run');
const small = ['--num-train', '4', '--num-dev', '2', '--num-test', '3'];
const json = (s: string) => JSON.parse(s.trim().split('\n').pop()!) as Record<string, unknown>;

function ok(args: string[]): string {
  const r = cola(args);
  assert.equal(r.status, 0, `cola ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

// The COLA run the eval/export tests reuse; trained once, up front.
const trainArgs = ['train', '--model', model, '--data', corpus, '--method', 'cola', '--chain-length', '2', '--max-steps', '4'];
ok([...trainArgs, '--max-length', '16', '--lr', '0.01', '--batch-size', '4', '--out', run, '--quiet']);
const adapter = path.join(run, 'adapter');

test('train --method cola --chain-length 2 writes a PEFT adapter and a chain of 2 links', () => {
  assert.ok(fs.existsSync(path.join(adapter, 'adapter_config.json')));
  assert.ok(fs.existsSync(path.join(adapter, 'adapter_model.safetensors')));
  const chain = JSON.parse(fs.readFileSync(path.join(run, 'chain.json'), 'utf8'));
  assert.equal(chain.links.length, 2);
  assert.equal(chain.total_steps, 4);
});

test('train --target-regex selects modules by regex (overriding the default --targets)', () => {
  const out = path.join(dir, 'run-regex');
  ok([
    'train',
    '--model',
    model,
    '--data',
    corpus,
    '--method',
    'lora',
    '--max-steps',
    '1',
    '--max-length',
    '16',
    '--target-regex',
    '.*\\.(k_proj|o_proj)',
    '--out',
    out,
    '--quiet',
  ]);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'adapter', 'adapter_config.json'), 'utf8'));
  assert.equal(cfg.target_modules, '.*\\.(k_proj|o_proj)');
  // keys are base_model.model.<path>.<module>.lora_A.weight
  const keys = [...openSafetensors(path.join(out, 'adapter', 'adapter_model.safetensors')).tensors.keys()];
  const modules = new Set(keys.map((k) => k.split('.').at(-3)));
  assert.deepEqual([...modules].sort(), ['k_proj', 'o_proj'], 'the adapter holds exactly the modules the regex selects');
});

test('eval --data on a text file gives loss and perplexity; the adapter changes them', () => {
  const base = json(ok(['eval', '--model', model, '--data', corpus, '--json']));
  const tuned = json(ok(['eval', '--model', model, '--adapter', adapter, '--data', corpus, '--json']));
  assert.ok(Number.isFinite(base['loss']) && (base['loss'] as number) > 0);
  assert.ok(Math.abs((base['perplexity'] as number) - Math.exp(base['loss'] as number)) < 1e-6 * (base['perplexity'] as number));
  assert.notEqual(tuned['loss'], base['loss']);
  assert.match(ok(['eval', '--model', model, '--data', corpus]), /loss \d+\.\d{4}, perplexity/);
});

test('eval --data takes several files: scored as one split (a file twice: same mean loss, twice the tokens)', () => {
  const once = json(ok(['eval', '--model', model, '--data', corpus, '--json']));
  const twice = json(ok(['eval', '--model', model, '--data', `${corpus},${corpus}`, '--json']));
  assert.ok(Math.abs((twice['loss'] as number) - (once['loss'] as number)) <= 1e-6 * (once['loss'] as number));
  assert.equal(twice['tokens'], 2 * (once['tokens'] as number));
  const cls = path.join(path.dirname(corpus), 'cls.jsonl');
  fs.writeFileSync(cls, JSON.stringify({ prompt: 'the cat', candidates: [' sat', ' mat'], label: 0 }) + '\n');
  const mixed = cola(['eval', '--model', model, '--data', `${corpus},${cls}`]);
  assert.equal(mixed.status, 1);
  assert.match(mixed.stderr, /classification rows \(in .*cls\.jsonl\) and LM rows .*two cola eval runs/);
  const missing = cola(['eval', '--model', model, '--data', `${corpus},${cls}.nope`]);
  assert.match(missing.stderr, /cls\.jsonl\.nope: file not found/);
});

test('eval --task rte scores the sampled test (or dev) split with accuracy and macro-F1', () => {
  const m = json(ok(['eval', '--model', model, '--task', 'rte', '--data-dir', dataDir, ...small, '--json']));
  assert.equal(m['split'], 'test');
  assert.equal(m['count'], 3);
  assert.ok((m['accuracy'] as number) >= 0 && (m['accuracy'] as number) <= 1);
  assert.ok(typeof m['macro_f1'] === 'number');
  const dev = json(
    ok(['eval', '--model', model, '--adapter', adapter, '--task', 'rte', '--data-dir', dataDir, ...small, '--split', 'dev', '--json']),
  );
  assert.equal(dev['count'], 2);
});

test('eval --data on classification rows gives accuracy', () => {
  const file = path.join(dir, 'cls.jsonl');
  fs.writeFileSync(
    file,
    ['{"prompt":"the cat","candidates":[" sat"," hello"],"label":0}', '{"prompt":"hello","candidates":[" cat"," mat"],"label":1}'].join(
      '\n',
    ) + '\n',
  );
  const m = json(ok(['eval', '--model', model, '--data', file, '--json']));
  assert.equal(m['count'], 2);
  assert.ok('accuracy' in m && 'macro_f1' in m);
});

test('data --json gives the split sizes and, with --show, rendered prompts with candidates and label', () => {
  const s = json(ok(['data', '--task', 'rte', '--data-dir', dataDir, '--seed', '1', ...small, '--json', '--show', '2']));
  assert.deepEqual([s['train'], s['dev'], s['test']], [4, 2, 3]);
  const ex = s['examples'] as Array<{ prompt: string; candidates: string[]; label: number }>;
  assert.equal(ex.length, 2);
  assert.deepEqual(ex[0]!.candidates, ['Yes', 'No']);
  assert.match(ex[0]!.prompt, /Does this mean that/);
  // Same seed, same sample; the readable form names the sizes.
  assert.deepEqual(json(ok(['data', '--task', 'rte', '--data-dir', dataDir, '--seed', '1', ...small, '--json', '--show', '2'])), s);
  assert.match(ok(['data', '--task', 'rte', '--data-dir', dataDir, ...small]), /train 4, dev 2, test 3/);
});

test('info describes the architecture, parameters, dtypes and LoRA targets', () => {
  const i = json(ok(['info', '--model', model, '--json']));
  assert.equal(i['model_type'], 'llama');
  assert.deepEqual([i['layers'], i['hidden'], i['heads'], i['kv_heads'], i['vocab']], [2, 16, 4, 2, 294]);
  assert.deepEqual(i['lora_targets'], ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
  assert.equal(i['all_linear_count'], 14);
  assert.equal(i['weight_dtype'], 'f32');
  assert.equal(i['checkpoint_dtype'], 'F32');
  // embed 294*16 + lm_head 294*16 + per layer (2 norms + q,k,v,o + 3 MLP) + final norm
  const perLayer = 2 * 16 + 16 * 16 + 2 * 8 * 16 + 16 * 16 + 3 * 16 * 24;
  assert.equal(i['parameters'], 2 * 294 * 16 + 2 * perLayer + 16);
  // --quantize q8_0: each block linear's row (16 or 24 values) becomes one 34-byte block
  const q = i['quantized_memory_bytes'] as Record<string, number>;
  const rows = 16 + 8 + 8 + 16 + 24 + 24 + 16;
  const dense = (2 * 16 * 16 + 2 * 8 * 16 + 3 * 16 * 24) * 4;
  assert.equal(q['q8_0'], (i['memory_bytes'] as number) - 2 * dense + 2 * rows * 34);
  assert.match(ok(['info', '--model', 'test/fixtures/models/gpt2_tiny']), /gpt2, 2 layers.*\n.*\n.*--quantize: int8 .*\n.*c_attn/);
});

test('export merged: the merged folder scores exactly as base + adapter, with the tokenizer copied', () => {
  const out = path.join(dir, 'merged');
  ok(['export', 'merged', '--model', model, '--adapter', adapter, '--out', out]);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'])
    assert.ok(fs.existsSync(path.join(out, f)), f);
  assert.deepEqual(
    fs.readdirSync(out).filter((f) => f.includes('.tmp')),
    [],
  );
  const merged = json(ok(['eval', '--model', out, '--data', corpus, '--json']));
  const tuned = json(ok(['eval', '--model', model, '--adapter', adapter, '--data', corpus, '--json']));
  assert.ok(Math.abs((merged['loss'] as number) - (tuned['loss'] as number)) < 1e-5, `${merged['loss']} vs ${tuned['loss']}`);
  // Sharded bf16 export loads back too.
  const sharded = path.join(dir, 'merged-bf16');
  ok(['export', 'merged', '--model', model, '--adapter', adapter, '--out', sharded, '--dtype', 'bf16', '--max-shard-mb', '0.02']);
  assert.ok(fs.existsSync(path.join(sharded, 'model.safetensors.index.json')));
  // matrices in bf16 (norms may stay f32)
  assert.match(json(ok(['info', '--model', sharded, '--json']))['checkpoint_dtype'] as string, /BF16/);
});

test('export gguf: the GGUF of base + adapter evaluates as the merged folder; train, eval, info and generate take --model FILE.gguf', () => {
  const merged = path.join(dir, 'merged-for-gguf');
  ok(['export', 'merged', '--model', model, '--adapter', adapter, '--out', merged]);
  const file = path.join(dir, 'merged.gguf');
  ok(['export', 'gguf', '--model', model, '--adapter', adapter, '--out', file, '--gguf-type', 'f32']);
  const fromGguf = json(ok(['eval', '--model', file, '--data', corpus, '--json']));
  const fromFolder = json(ok(['eval', '--model', merged, '--data', corpus, '--json']));
  assert.equal(fromGguf['loss'], fromFolder['loss']);
  assert.match(ok(['info', '--model', file]), /merged\.gguf: llama, 2 layers.*\n.*checkpoint F32/);
  // a LoRA run on the GGUF base, then its adapter merged into a Q8_0 GGUF that generates
  const ggufRun = path.join(dir, 'run-gguf');
  ok([
    'train',
    '--model',
    file,
    '--data',
    corpus,
    '--method',
    'lora',
    '--max-steps',
    '2',
    '--max-length',
    '16',
    '--batch-size',
    '4',
    '--out',
    ggufRun,
    '--quiet',
  ]);
  const q8 = path.join(dir, 'tuned-q8.gguf');
  const exported = cola([
    'export',
    'gguf',
    '--model',
    file,
    '--adapter',
    path.join(ggufRun, 'adapter'),
    '--out',
    q8,
    '--gguf-type',
    'q8_0',
  ]);
  assert.equal(exported.status, 0, exported.stderr);
  // the tiny model's rows of 16 are not whole Q8_0 blocks: F16, as llama.cpp's converter does
  assert.match(
    exported.stderr,
    /wrote .*tuned-q8\.gguf \(q8_0, 21 tensors, adapter merged\); 16 tensor\(s\) with rows not a multiple of 32 written as F16/,
  );
  assert.match(ok(['generate', '--model', q8, '--prompt', 'the cat', '--max-new-tokens', '4']), /\S/);
});

test('convert llama2c writes a model folder that info and generate load', () => {
  const { modelBin, tokBin } = writeTinyLlama2c(dir, 61);
  const out = path.join(dir, 'converted');
  ok(['convert', 'llama2c', modelBin, tokBin, out]);
  assert.deepEqual(fs.readdirSync(out).sort(), [
    'config.json',
    'generation_config.json',
    'model.safetensors',
    'tokenizer.json',
    'tokenizer_config.json',
  ]);
  assert.equal(json(ok(['info', '--model', out, '--json']))['vocab'], 294);
  assert.ok(
    ok(['generate', '--model', out, '--prompt', 'the cat', '--max-new-tokens', '4']).endsWith('\n'),
    'generate loads it and prints',
  );
});

test('generate is deterministic when greedy (and with a fixed sampling seed)', () => {
  const args = ['generate', '--model', model, '--prompt', 'the cat', '--max-new-tokens', '8'];
  const a = ok(args);
  assert.equal(ok(args), a);
  assert.ok(a.endsWith('\n'));
  const sampled = [...args, '--temperature', '1', '--seed', '3', '--adapter', adapter];
  assert.equal(ok(sampled), ok(sampled));
});

test('--help of every command exits 0 and lists all its flags', () => {
  for (const c of commands) {
    const r = cola([c.name, '--help']);
    assert.equal(r.status, 0, c.name);
    for (const flag of Object.keys(c.options)) assert.ok(r.stdout.includes(`--${flag}`), `cola ${c.name} --help lacks --${flag}`);
  }
  const top = cola(['--help']);
  assert.equal(top.status, 0);
  for (const c of commands) assert.match(top.stdout, new RegExp(`\\b${c.name}\\b`));
});

test('train --json into a reader that closes early (| head) stops quietly, no EPIPE stack trace', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(
    process.execPath,
    [colaBin, ...trainArgs, '--max-length', '16', '--max-steps', '200', '--out', path.join(dir, 'run-pipe'), '--json'],
    {
      env: { ...process.env, COLA_BACKEND: 'reference' },
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.once('data', () => child.stdout.destroy()); // the reader goes away after the first event
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Error|at /);
});
