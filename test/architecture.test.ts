// Imports only run downward (issue 13; docs/ARCHITECTURE.md draws the layers). Every
// relative import of every src/ file is read with TypeScript's own parser: static,
// re-exports, dynamic import('...') and import('...').T types. Type-only imports count:
// a lower layer that names a higher layer's type cannot be read, tested or reused without
// it, even though tsc erases the import. The test fails on (a) an import from a lower
// layer into a higher one, (b) any loop between files, (c) an import out of src/.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'); // from dist/test
const src = path.join(root, 'src');

/** The stack, bottom to top. A file may import its own layer and any rung below;
 * modules on one rung may not import each other. `index` is src/index.ts, the library's
 * entry; `bench` is what `cola bench` runs (bench/ keeps results and standalone scripts);
 * `web` is the browser entry and the studio page (issue 20). */
const STACK: readonly (readonly string[])[] = [
  ['backend'],
  ['tensor'],
  ['nn'],
  ['models'],
  ['lora'],
  ['eval'],
  ['train'],
  ['cola'],
  ['api'],
  ['experiment', 'bench', 'web'],
  ['cli', 'index'],
];

/** Modules beside the stack, each with all it may import. A beside module sits just above
 * the highest stack layer it reaches (itself or through another beside module), and only
 * layers above that seat may import it: optim (imports tensor) serves nn and up, in
 * practice train and cola; hub (imports io only) may serve any layer, in practice api and cli. */
const BESIDE: Readonly<Record<string, readonly string[]>> = {
  errors: [],
  config: ['errors'],
  io: ['errors'],
  data: ['errors', 'io'],
  hub: ['errors', 'io'],
  report: ['errors', 'io'],
  optim: ['errors', 'backend', 'tensor'],
};

/** Loops allowed, each a type-only edge that closes it, with the reason. A Tensor holds
 * its GradFn and a GradFn's inputs are Tensors: one recursive type split over two files so
 * tensor.ts stays thin. Only a type-only import qualifies: a value import here fails. */
const TYPE_LOOP_EDGES: ReadonlySet<string> = new Set(['src/tensor/autograd.ts -> src/tensor/tensor.ts']);

interface Import {
  from: string; // repository-relative .ts paths with forward slashes
  to: string;
  typeOnly: boolean;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

const rel = (file: string): string => path.relative(root, file).split(path.sep).join('/');

/** All relative imports of one file, and each dynamic import() whose target is not a literal. */
function importsOf(file: string): { imports: Import[]; unreadable: string[] } {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const imports: Import[] = [];
  const unreadable: string[] = [];
  const add = (spec: string, typeOnly: boolean) => {
    if (!spec.startsWith('.')) return; // node: builtins and packages
    imports.push({ from: rel(file), to: rel(path.resolve(path.dirname(file), spec)).replace(/\.js$/, '.ts'), typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : null;
      // `import type {..}`, or `import { type A, type B }`: tsc erases both.
      const typeOnly = !!clause && (clause.isTypeOnly || (!clause.name && !!named?.length && named.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) add(arg.text, false);
      else unreadable.push(`${rel(file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { imports, unreadable };
}

const scanned = tsFiles(src).map(importsOf);
const imports = scanned.flatMap((s) => s.imports);

/** src/<module>/... -> module; src/errors.ts -> errors; src/index.ts -> index. */
const moduleOf = (file: string): string => file.split('/')[1]!.replace(/\.ts$/, '');

const rung = new Map(STACK.flatMap((names, i) => names.map((n) => [n, i] as const)));

/** The highest stack rung a beside module reaches, -1 for none (BESIDE has no loops). */
function seat(module: string): number {
  return Math.max(-1, ...BESIDE[module]!.map((m) => (rung.has(m) ? rung.get(m)! : seat(m))));
}

/** Why `from` may not import `to`, or null when it may. */
function layerProblem(from: string, to: string): string | null {
  if (from === to) return null;
  for (const m of [from, to])
    if (!rung.has(m) && !(m in BESIDE))
      return `src/${m} is in no layer: add it to STACK or BESIDE in this test and to docs/ARCHITECTURE.md`;
  if (from in BESIDE)
    return BESIDE[from]!.includes(to) ? null : `${from} sits beside the stack and may import only ${BESIDE[from]!.join(', ') || 'nothing'}`;
  const mine = rung.get(from)!;
  if (to in BESIDE) return seat(to) < mine ? null : `${to} imports up to ${STACK[seat(to)]!.join('/')}, which is not below ${from}`;
  const theirs = rung.get(to)!;
  if (theirs < mine) return null;
  return theirs === mine ? `${from} and ${to} are siblings on one rung` : `${from} is below ${to}`;
}

test('every src/ module has a layer, and imports run only downward', () => {
  const problems: string[] = [];
  for (const { from, to } of imports) {
    if (!to.startsWith('src/')) continue; // the next test's business
    const why = layerProblem(moduleOf(from), moduleOf(to));
    if (why) problems.push(`${from} imports ${to}: ${why}`);
  }
  assert.deepEqual(problems, []);
});

test('nothing in src/ imports from outside src/ (bench/, scripts/, test/), and every import() is a literal', () => {
  const outside = imports.filter((i) => !i.to.startsWith('src/')).map((i) => `${i.from} imports ${i.to}`);
  const unreadable = scanned.flatMap((s) => s.unreadable).map((at) => `${at}: import() of a computed path cannot be checked`);
  assert.deepEqual([...outside, ...unreadable], []);
});

test('no loops between files (type-only imports included)', () => {
  const edges = imports.filter((i) => !(i.typeOnly && TYPE_LOOP_EDGES.has(`${i.from} -> ${i.to}`)));
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
  // Tarjan's strongly connected components: every component of two or more files is a loop.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const loops: string[] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) loops.push(component.sort().join(' <-> '));
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  assert.deepEqual(loops, []);
});

test('the allowed type loop is still there and still type-only', () => {
  for (const edge of TYPE_LOOP_EDGES) {
    const found = imports.filter((i) => `${i.from} -> ${i.to}` === edge);
    assert.ok(found.length > 0, `${edge} is gone: remove it from TYPE_LOOP_EDGES`);
    assert.ok(
      found.every((i) => i.typeOnly),
      `${edge} became a value import`,
    );
  }
});

test('the scan sees static, type-only and dynamic imports', () => {
  const has = (from: string, to: string, typeOnly: boolean) =>
    imports.some((i) => i.from === from && i.to === to && i.typeOnly === typeOnly);
  assert.ok(has('src/tensor/tensor.ts', 'src/tensor/autograd.ts', false), 'a static value import');
  assert.ok(has('src/tensor/autograd.ts', 'src/tensor/tensor.ts', true), 'a type-only import');
  assert.ok(has('src/cli/commands/bench.ts', 'src/bench/trainStep.ts', false), 'a dynamic import()');
});
