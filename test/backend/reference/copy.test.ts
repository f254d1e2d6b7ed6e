import assert from 'node:assert/strict';
import { test } from 'node:test';
import { referenceBackend as ref } from '../../../src/backend/reference/index.js';

test('copyStrided: transpose of a 2x3 matrix', () => {
  const src = new Float32Array([1, 2, 3, 4, 5, 6]); // [2, 3]
  const dst = new Float32Array(6); // [3, 2]
  ref.copyStrided({ src, srcOffset: 0, srcStrides: [1, 3], dst, dstOffset: 0, dstStrides: [2, 1], shape: [3, 2], accumulate: false });
  assert.deepEqual(Array.from(dst), [1, 4, 2, 5, 3, 6]);
});

test('copyStrided: slice with offsets and broadcast with a zero stride', () => {
  const src = new Int32Array([0, 1, 2, 3, 4, 5, 6, 7]);
  const dst = new Int32Array(6);
  // dst [2, 3] = src row [1, 2, 3] repeated (stride 0 on the row axis), offset 1.
  ref.copyStrided({ src, srcOffset: 1, srcStrides: [0, 1], dst, dstOffset: 0, dstStrides: [3, 1], shape: [2, 3], accumulate: false });
  assert.deepEqual(Array.from(dst), [1, 2, 3, 1, 2, 3]);
});

test('copyStrided: accumulate adds, and a zero extent copies nothing', () => {
  const dst = new Float32Array([10, 20, 30]);
  ref.copyStrided({
    src: new Float32Array([1, 2, 3]),
    srcOffset: 0,
    srcStrides: [1],
    dst,
    dstOffset: 0,
    dstStrides: [1],
    shape: [3],
    accumulate: true,
  });
  assert.deepEqual(Array.from(dst), [11, 22, 33]);
  ref.copyStrided({
    src: new Float32Array([1, 2, 3]),
    srcOffset: 0,
    srcStrides: [1, 1],
    dst,
    dstOffset: 0,
    dstStrides: [1, 1],
    shape: [0, 3],
    accumulate: false,
  });
  assert.deepEqual(Array.from(dst), [11, 22, 33]);
});

test('copyStrided: a scalar (empty shape) copies one element; bf16 bits are copied verbatim', () => {
  const dst = new Uint16Array(2);
  ref.copyStrided({
    src: new Uint16Array([0x3f80, 0x7fc1]),
    srcOffset: 1,
    srcStrides: [],
    dst,
    dstOffset: 0,
    dstStrides: [],
    shape: [],
    accumulate: false,
  });
  assert.deepEqual(Array.from(dst), [0x7fc1, 0]);
});

test('copyStrided: mismatched storage kinds are rejected', () => {
  assert.throws(
    () =>
      ref.copyStrided({
        src: new Float32Array(1),
        srcOffset: 0,
        srcStrides: [1],
        dst: new Int32Array(1),
        dstOffset: 0,
        dstStrides: [1],
        shape: [1],
        accumulate: false,
      }),
    /same kind/,
  );
});
