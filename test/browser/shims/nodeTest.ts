// `node:test` in the browser bundle (test/browser/build.ts aliases it here): describe
// runs its body at once, it() records cases, runCases() runs them in order. Only
// what conformanceSuite.ts uses: describe/it with { skip }.

type Options = { skip?: string | boolean };
type Body = () => void;

export interface CaseResult {
  name: string;
  skipped?: string;
  error?: string;
  ms: number;
}

const cases: { name: string; skip: string | false; fn: Body }[] = [];
let prefix = '';
let suiteSkip: string | false = false;

function skipReason(s: string | boolean | undefined): string | false {
  return s === true ? 'skipped' : s ? s : false;
}

export function describe(name: string, a: Options | Body, b?: Body): void {
  const [opts, body] = typeof a === 'function' ? [{}, a] : [a, b!];
  const outer = [prefix, suiteSkip] as const;
  prefix = `${prefix}${name} > `;
  suiteSkip = suiteSkip || skipReason(opts.skip);
  try {
    body();
  } finally {
    [prefix, suiteSkip] = outer;
  }
}

export function it(name: string, a: Options | Body, b?: Body): void {
  const [opts, fn] = typeof a === 'function' ? [{}, a] : [a, b!];
  cases.push({ name: `${prefix}${name}`, skip: suiteSkip || skipReason(opts.skip), fn });
}
export const test = it;

/** Runs the recorded cases (those whose name contains `filter`), reporting each. */
export function runCases(filter: string, report: (r: CaseResult) => void): void {
  for (const c of cases) {
    if (!c.name.includes(filter)) continue;
    if (c.skip) {
      report({ name: c.name, skipped: c.skip, ms: 0 });
      continue;
    }
    const t0 = performance.now();
    try {
      c.fn();
      report({ name: c.name, ms: performance.now() - t0 });
    } catch (err) {
      const e = err as Error;
      report({ name: c.name, error: `${e.message}\n${e.stack ?? ''}`, ms: performance.now() - t0 });
    }
  }
}
