// regexRisk (src/io/regexSafety.ts) refuses the shapes that backtrack catastrophically
// and accepts alternations whose branches cannot start on the same character.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { regexRisk } from '../../src/io/regexSafety.js';
import { isTargeted, validateLoraConfig } from '../../src/lora/config.js';
import { loraConfig } from '../lora/tinyModel.js';

const DIALECTS = ['javascript', 'oniguruma'] as const;

/** Milliseconds a JavaScript RegExp takes on `text` (anchored at both ends, as targets are). */
function timeMatch(source: string, text: string): number {
  const re = new RegExp(`^(?:${source})$`);
  const t0 = performance.now();
  re.test(text);
  return performance.now() - t0;
}

test('repeated alternations of branches with different first characters are accepted', () => {
  for (const ok of [
    '(a|b)+',
    '(a|b)*c',
    '(q_proj|v_proj)+',
    '(?:q|k|v|o)_proj',
    'model\\.layers\\.(\\d+\\.)?self_attn\\.(q_proj|v_proj)',
    '(ab|b)+',
    '((a|b)(c|d))*e',
    '(\\.|_)+x',
    '(?:foo|bar){1,50}',
  ]) {
    for (const dialect of DIALECTS) assert.equal(regexRisk(ok, dialect), null, `${ok} (${dialect})`);
  }
});

test('they are harmless: an adversarial text fails to match at once', () => {
  for (const [source, text] of [
    ['(a|b)+', 'ab'.repeat(5000) + 'c'],
    ['(q_proj|v_proj)+', 'q_proj'.repeat(2000) + 'x'],
    ['(ab|b)+', 'abb'.repeat(3000) + 'a'],
  ] as const) {
    assert.equal(regexRisk(source), null);
    assert.ok(timeMatch(source, text) < 200, source);
  }
});

test('alternations that can start alike, or match nothing, are refused under a repetition', () => {
  for (const [bad, why] of [
    ['(a+)+', /nested quantifiers/],
    ['(a|a)*', /several ways/],
    ['(a|ab)*c', /several ways/],
    ['(ab|a)*c', /several ways/],
    ['(a|A)*b', /several ways/], // one character under a case-insensitive flag
    ['(?i:(a|A))*b', /several ways/],
    ['(.|a)*z', /several ways/],
    ['(\\w|\\d)+!', /several ways/],
    ['(a|b?)+c', /several ways/],
    ['(a||b)+c', /several ways/],
    ['(^|a)+b', /several ways/],
    ['((?=a)a|a)+b', /several ways/],
    ['(a{1,3}|b)+c', /several ways/],
    ['(b?a|a)+c', /several ways/], // b? can be skipped: both branches start with a
    ['(\\.|\\.x)+y', /several ways/],
    ['(?x)(a| a)+b', /several ways/], // extended mode: ' a' is 'a'
  ] as const) {
    for (const dialect of DIALECTS) assert.match(regexRisk(bad, dialect) ?? 'accepted', why, `${bad} (${dialect})`);
  }
});

test('--target-regex takes a repeated alternation of module names, and matches with it', () => {
  const cfg = validateLoraConfig(
    loraConfig({ targets: [], targetRegex: 'model\\.layers\\.\\d+\\.self_attn\\.(q_proj|v_proj)+' }),
    '--target-regex',
  );
  assert.ok(isTargeted(cfg, 'model.layers.0.self_attn.q_proj'));
  assert.ok(!isTargeted(cfg, 'model.layers.0.self_attn.k_proj'));
});
