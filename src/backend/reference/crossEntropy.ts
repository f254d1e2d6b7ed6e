// Fused log-softmax + negative log-likelihood over logits [rows, vocab].

import type { Backend } from '../backend.js';
import { rowLogSumExp } from './softmax.js';

export const crossEntropy: Backend['crossEntropy'] = ({ logits, targets, loss, dLogits, rows, vocab, ignoreIndex, gradScale }) => {
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    const target = targets[r];
    const ignored = target === ignoreIndex;
    if (!ignored && (target < 0 || target >= vocab)) {
      throw new RangeError(`crossEntropy: target ${target} of row ${r} is outside [0, ${vocab}) and is not ignoreIndex (${ignoreIndex})`);
    }
    // Everything read from the logits row is read before dLogits (which may alias it) is written.
    const lse = rowLogSumExp(logits, o, vocab);
    loss[r] = ignored ? 0 : lse - logits[o + target];
    if (!dLogits) continue;
    for (let j = 0; j < vocab; j++) {
      const p = Math.exp(logits[o + j] - lse);
      dLogits[o + j] = ignored ? 0 : gradScale * (p - (j === target ? 1 : 0));
    }
  }
};
