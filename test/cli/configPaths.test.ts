// Issue 16: relative paths in a --config file resolve against that file's folder.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { trainCommand } from '../../src/cli/commands/train.js';
import { parseOptions } from '../../src/cli/options.js';

test('FILE and DIR keys of a --config file are relative to its folder; command-line paths and other keys are not', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cola-cfgpath-'));
  const file = path.join(dir, 'run.yaml');
  fs.writeFileSync(file, 'data: train.txt\nout: runs/a\nmodel: /abs/model\nmethod: lora\n');
  const { values } = parseOptions(['--config', file, '--dev-data', 'dev.txt'], trainCommand.options, 'train');
  assert.equal(values['data'], path.join(dir, 'train.txt'));
  assert.equal(values['out'], path.join(dir, 'runs/a'));
  assert.equal(values['model'], '/abs/model', 'an absolute path stays');
  assert.equal(values['dev-data'], 'dev.txt', 'a command-line path stays relative to the working directory');
  assert.equal(values['method'], 'lora', 'a non-path value is untouched');
});
