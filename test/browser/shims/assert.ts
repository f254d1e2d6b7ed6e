// `node:assert/strict` in the browser bundle: the assertions the conformance cases
// and test/helpers/tolerance.ts use, with node's strict semantics where they matter
// here (typed arrays compared by kind and element, NaN equal to NaN, -0 !== 0 as
// Object.is does).

class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssertionError';
  }
}

function fail(message?: string): never {
  throw new AssertionError(message ?? 'Failed');
}

function ok(value: unknown, message?: string): void {
  if (!value) fail(message ?? `expected a truthy value, got ${String(value)}`);
}

function equal(actual: unknown, expected: unknown, message?: string): void {
  if (!Object.is(actual, expected)) fail(message ?? `${String(actual)} !== ${String(expected)}`);
}

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (ArrayBuffer.isView(a)) {
    const x = a as unknown as ArrayLike<number>;
    const y = b as unknown as ArrayLike<number>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function deepEqual(actual: unknown, expected: unknown, message?: string): void {
  if (same(actual, expected)) return;
  let where = '';
  if (ArrayBuffer.isView(actual) && ArrayBuffer.isView(expected)) {
    const x = actual as unknown as ArrayLike<number>;
    const y = expected as unknown as ArrayLike<number>;
    let bad = 0;
    let first = -1;
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (!Object.is(x[i], y[i])) {
        bad++;
        if (first < 0) first = i;
      }
    }
    where = ` (lengths ${x.length}/${y.length}; ${bad} elements differ, first at ${first}: ${x[first]} vs ${y[first]})`;
  }
  fail(`${message ?? 'values differ'}${where}`);
}

function throws(fn: () => unknown, expected?: RegExp, message?: string): void {
  try {
    fn();
  } catch (err) {
    if (expected && !expected.test((err as Error).message))
      fail(`${message ?? 'wrong error'}: ${(err as Error).message} does not match ${expected}`);
    return;
  }
  fail(message ?? 'expected a throw');
}

const assert = { ok, equal, deepEqual, throws, fail, strictEqual: equal, deepStrictEqual: deepEqual };
export default assert;
