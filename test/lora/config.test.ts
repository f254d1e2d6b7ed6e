import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ColaError } from '../../src/errors.js';
import { isTargeted, loraScale, patternValue, rankAndAlpha, validateLoraConfig, escapeRegex } from '../../src/lora/config.js';
import { loraConfig } from './tinyModel.js';

const Q = 'model.layers.0.self_attn.q_proj';

test('targets match a whole dot-separated suffix of the module path', () => {
  const cases: [string[], string, boolean][] = [
    [['q_proj'], Q, true],
    [['self_attn.q_proj'], Q, true],
    [['proj'], Q, false], // not a whole component
    [['v_proj'], Q, false],
    [[Q], Q, true],
  ];
  for (const [targets, p, want] of cases) assert.equal(isTargeted(loraConfig({ targets }), p), want, `${targets} vs ${p}`);
});

test('targetRegex must match the whole path', () => {
  const cfg = loraConfig({ targets: [], targetRegex: String.raw`.*layers\.1\..*(q|v)_proj` });
  assert.equal(isTargeted(cfg, 'model.layers.1.self_attn.v_proj'), true);
  assert.equal(isTargeted(cfg, Q), false);
  assert.equal(isTargeted(loraConfig({ targets: [], targetRegex: 'q_proj' }), Q), false);
});

test('rank/alpha patterns match like PEFT get_pattern_key: suffix or regex, first key wins', () => {
  const cfg = loraConfig({ rankPattern: { [String.raw`layers\.1\.self_attn\.q_proj`]: 2, q_proj: 6 }, alphaPattern: { v_proj: 3 } });
  assert.deepEqual(rankAndAlpha(cfg, 'model.layers.1.self_attn.q_proj'), { r: 2, alpha: 8 });
  assert.deepEqual(rankAndAlpha(cfg, Q), { r: 6, alpha: 8 });
  assert.deepEqual(rankAndAlpha(cfg, 'model.layers.0.self_attn.v_proj'), { r: 4, alpha: 3 });
  assert.equal(patternValue({ [escapeRegex(Q)]: 5 }, Q), 5);
  assert.equal(patternValue({ [escapeRegex(Q)]: 5 }, 'model.layers.10.self_attn.q_proj'), undefined);
});

test('scale: alpha / r, rsLoRA alpha / sqrt(r)', () => {
  assert.equal(loraScale(16, 8, false), 2);
  assert.equal(loraScale(16, 4, true), 8);
});

test('validation lists every problem in one ColaError', () => {
  const bad = {
    ...loraConfig(),
    r: 0,
    alpha: -1,
    dropout: 1,
    init: 'xavier',
    trainBias: 'some',
    rankPattern: { '(': 2 },
    extra: 1,
  } as never;
  assert.throws(
    () => validateLoraConfig(bad, 'run.json'),
    (e: unknown) => {
      assert.ok(e instanceof ColaError);
      for (const word of ['run.json', 'r must', 'alpha must', 'dropout', 'init', 'trainBias', 'rankPattern key', 'unknown key "extra"']) {
        assert.match(e.message, new RegExp(escapeRegex(word)));
      }
      return true;
    },
  );
  assert.throws(() => validateLoraConfig(loraConfig({ targets: ['q_proj'], targetRegex: '.*' })), /not both/);
  assert.throws(() => validateLoraConfig(loraConfig({ targets: [] })), /targets is empty/);
  assert.doesNotThrow(() => validateLoraConfig(loraConfig({ targets: 'all-linear' })));
});
