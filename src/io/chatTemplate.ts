/** Rendering a chat template (untrusted: it comes with the model's tokenizer_config.json
 * or chat_template.jinja) under a budget, so `{% for i in range(100000000) %}` or nested
 * loops stop with a clear error instead of running for hours or growing to gigabytes.
 *
 * @huggingface/jinja's Interpreter evaluates every statement and expression through
 * `evaluate`, loops included (one call per iteration body at least), so counting those
 * calls bounds the time; checking the size of every string and list they return bounds
 * the memory; and `range` is replaced by one that refuses huge lists before building them. */
import { Environment, Interpreter, type Template } from '@huggingface/jinja';
import { ColaError } from '../errors.js';

/** A real template over a long conversation takes a few thousand steps (about 50 a
 * message); 100k steps of loop overhead take well under a second. */
const MAX_TEMPLATE_STEPS = 100_000;
/** Largest string any step may produce (the rendered conversation included). */
const MAX_TEMPLATE_CHARS = 16 << 20;
/** Characters produced by all steps together (loop bodies are re-rendered per iteration). */
const MAX_TOTAL_CHARS = 256 << 20;
const MAX_RANGE = 100_000;

class BudgetExceeded extends Error {}

/** The part of @huggingface/jinja's runtime used here (its .d.ts files import each other
 * without extensions, which NodeNext resolution cannot follow, so the types are restated). */
interface Value {
  type: string;
  value: unknown;
}
interface ForNode {
  iterable: { type: string; lhs?: unknown };
}
interface JinjaInterpreter {
  evaluate(statement: unknown, environment: unknown): Value;
  evaluateFor(node: ForNode, environment: unknown): Value;
  evaluateArguments(args: unknown, environment: unknown): [Value[], Map<string, Value>];
  run(program: unknown): Value;
}
const InterpreterBase = Interpreter as unknown as new (env: unknown) => JinjaInterpreter;

class BudgetInterpreter extends InterpreterBase {
  private steps = 0;
  private chars = 0;
  /** The expressions for loops iterate over: their items are charged when evaluated. */
  private readonly iterables = new Set<unknown>();

  /** A for loop prepares a scope per item before running any body, so a loop over a
   * long list costs time even when its body is empty: charge two steps an item. */
  override evaluateFor(node: ForNode, environment: unknown): Value {
    this.iterables.add(node.iterable.type === 'SelectExpression' ? node.iterable.lhs : node.iterable);
    return super.evaluateFor(node, environment);
  }

  override evaluate(statement: unknown, environment: unknown): Value {
    if (++this.steps > MAX_TEMPLATE_STEPS) {
      throw new BudgetExceeded(
        `it took more than ${MAX_TEMPLATE_STEPS.toLocaleString('en-US')} steps (a loop too long or nested too deep)`,
      );
    }
    const v = super.evaluate(statement, environment);
    if (v.type === 'StringValue') {
      const n = (v.value as string).length;
      this.chars += n;
      if (n > MAX_TEMPLATE_CHARS) throw new BudgetExceeded(`it produced a string of ${n} characters (limit ${MAX_TEMPLATE_CHARS})`);
      if (this.chars > MAX_TOTAL_CHARS) throw new BudgetExceeded(`it produced more than ${MAX_TOTAL_CHARS} characters in all`);
    } else if (v.type === 'ArrayValue' || v.type === 'ObjectValue') {
      const n = v.type === 'ArrayValue' ? (v.value as unknown[]).length : (v.value as Map<string, unknown>).size;
      if (n > MAX_RANGE) throw new BudgetExceeded(`it built a list of ${n} items (limit ${MAX_RANGE})`);
      if (this.iterables.has(statement)) this.steps += 2 * n;
    }
    return v;
  }

  /** Filter and function arguments: a width such as indent(500000000) or
   * tojson(indent=...) would allocate its padding before any result is checked. */
  override evaluateArguments(args: unknown, environment: unknown): [Value[], Map<string, Value>] {
    const out = super.evaluateArguments(args, environment);
    for (const v of [...out[0], ...out[1].values()]) {
      if (v.type === 'IntegerValue' && Math.abs(v.value as number) > MAX_TEMPLATE_CHARS) {
        throw new BudgetExceeded(
          `it passes ${v.value as number} to a filter or function (arguments over ${MAX_TEMPLATE_CHARS} are refused)`,
        );
      }
    }
    return out;
  }
}

/** Jinja's range, refusing a list longer than MAX_RANGE before allocating it. */
function boundedRange(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error('range() step must not be zero');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  if (!(n <= MAX_RANGE)) throw new BudgetExceeded(`it asked for range() of ${n} items (limit ${MAX_RANGE})`);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(start + i * step);
  return out;
}

/** Python's strftime for the directives @huggingface/jinja supports (Llama-3.1 writes
 * today's date into its system prompt with strftime_now("%d %b %Y")). */
function strftimeNow(format: string): string {
  const d = new Date();
  const pad2 = (n: number) => String(n).padStart(2, '0');
  const month = (style: 'long' | 'short') => new Intl.DateTimeFormat('en-US', { month: style }).format(d);
  const parts: Record<string, () => string> = {
    '%Y': () => String(d.getFullYear()),
    '%m': () => pad2(d.getMonth() + 1),
    '%d': () => pad2(d.getDate()),
    '%b': () => month('short'),
    '%B': () => month('long'),
    '%H': () => pad2(d.getHours()),
    '%M': () => pad2(d.getMinutes()),
    '%%': () => '%',
  };
  return format.replace(/%[YmdbBHM%]/g, (t) => parts[t]());
}

/** Template.render with a budget; the globals are those of @huggingface/jinja's own
 * setupGlobals, with `range` bounded. */
export function renderChatTemplate(template: Template, vars: Record<string, unknown>): string {
  const env = new Environment();
  const globals: Record<string, unknown> = {
    false: false,
    true: true,
    none: null,
    False: false,
    True: true,
    None: null,
    raise_exception: (msg: unknown) => {
      throw new Error(String(msg));
    },
    range: boundedRange,
    strftime_now: strftimeNow,
  };
  for (const [k, v] of Object.entries({ ...globals, ...vars })) env.set(k, v);
  try {
    const out = new BudgetInterpreter(env).run(template.parsed);
    return out.value as string;
  } catch (e) {
    if (e instanceof BudgetExceeded) {
      throw new ColaError(
        `chat template: refusing to render it: ${e.message}. The model's chat_template (tokenizer_config.json or chat_template.jinja) is not a normal chat template; use one from a trusted copy of the model.`,
      );
    }
    if (e instanceof RangeError)
      throw new ColaError(`chat template: rendering ran out of room (${e.message}); the template is not a normal chat template`);
    // includes the template's own raise_exception('...') for a conversation it rejects
    throw new ColaError(`chat template: ${(e as Error).message}`);
  }
}
