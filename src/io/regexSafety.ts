/** A static check that a regular expression from an untrusted file (tokenizer.json,
 * adapter_config.json) runs in bounded time on JavaScript's backtracking engine.
 *
 * Why not RE2: tokenizer pre-tokenizers rely on lookahead (GPT-2's `\s+(?!\S)`), which a
 * linear-time engine lacks, and the npm bindings need a native build. Instead the pattern
 * is parsed and given a bound on how many ways it can match one piece of text: c * n^d
 * for a text of n characters. Catastrophic backtracking needs exponentially many ways
 * (`(a+)+b`, `(.|.)*z`, `a?a?...a?aa...a`), which this bound refuses; real tokenizer
 * patterns (GPT-2, Llama-3, Qwen2, GPT-4o) have d <= 2 and c below a hundred.
 *
 * The rules, each a refusal with its reason:
 *  - a repetition (`*`, `+`, `{n,m}` with m > 1) of something that can itself match in
 *    more than one way: a nested quantifier, an optional part, an alternation whose
 *    branches can start on the same character (`(a|a)*`, `(a|ab)*`, `(.|a)*`);
 *  - a backreference (matching with one is NP-hard);
 *  - a polynomial degree d over MAX_DEGREE or a coefficient c over MAX_WAYS;
 *  - a pattern longer than MAX_PATTERN_CHARS.
 * An alternation whose branches start on different characters and match no empty text
 * (`(a|b)+`, `(q_proj|v_proj)+`) has one way to match: at each position at most one branch
 * can go on, so it counts as its costliest branch, not their sum. The start characters are
 * known only for literals (in both cases: a flag may ignore case); a class, `.`, an escape
 * such as `\d` or an anchor may start anywhere, so it over-approximates still: `(\d|a)+` is
 * refused though harmless. */

const MAX_PATTERN_CHARS = 10_000;
/** Unbounded quantifiers one after another: `\s*[\r\n]+` has degree 2. */
const MAX_DEGREE = 3;
/** Ways to match at one position independent of the text length: 2^13 optional parts. */
const MAX_WAYS = 10_000;
/** A bounded repeat wider than this counts as unbounded (`a{0,5000}` is `a*` in cost). */
const WIDE_REPEAT = 64;

/** The characters a match can start with: literals (with their other case), or any. */
type First = ReadonlySet<string> | 'any';

type Node =
  /** one character, or a zero-width assertion (`empty`: ^, $, \b, an inline flag group) */
  | { k: 'atom'; first: First; empty?: boolean }
  | { k: 'seq'; items: Node[] }
  | { k: 'alt'; branches: Node[] }
  | { k: 'quant'; body: Node; min: number; max: number }
  /** a lookaround: zero-width, but its body runs */
  | { k: 'look'; body: Node }
  | { k: 'backref' };

const ANY: Node = { k: 'atom', first: 'any' };
const ZERO_WIDTH: Node = { k: 'atom', first: 'any', empty: true };

/** A literal character as a case-insensitive match may read it. White space and `#` may
 * be nothing at all (Oniguruma's extended mode, `(?x)`, skips them and comments): any. */
function literal(ch: string): Node {
  if (/[\s#]/u.test(ch)) return ANY;
  return { k: 'atom', first: new Set([ch, ch.toLowerCase(), ch.toUpperCase()]) };
}

/** Match count bound c * n^d. */
interface Cost {
  c: number;
  d: number;
}

class Unsafe extends Error {}

/** How the pattern will be read: tokenizer.json patterns are Oniguruma, which
 * @huggingface/tokenizers rewrites for JavaScript and where character classes nest;
 * adapter_config.json patterns run as JavaScript RegExps, where they do not (`[[](a+)+b]`
 * is one class to the first and a nested quantifier to the second). */
export type RegexDialect = 'oniguruma' | 'javascript';

/** Null when `source` is accepted, else the reason it is refused (one sentence). */
export function regexRisk(source: string, dialect: RegexDialect = 'javascript'): string | null {
  if (source.length > MAX_PATTERN_CHARS) return `it is ${source.length} characters long, over the ${MAX_PATTERN_CHARS}-character limit`;
  return risk(source, dialect === 'oniguruma');
}

function risk(source: string, nestedClasses: boolean): string | null {
  try {
    const cost = costOf(new Parser(source, nestedClasses).parse());
    if (cost.d > MAX_DEGREE) return `it has ${cost.d} unbounded quantifiers in a row (at most ${MAX_DEGREE} are allowed)`;
    if (!(cost.c <= MAX_WAYS))
      return `it can match one piece of text in more than ${MAX_WAYS} ways (too many optional parts or alternatives)`;
    return null;
  } catch (e) {
    if (e instanceof Unsafe) return e.message;
    throw e;
  }
}

/** A repeated body must match any text in at most one way. */
function costOf(n: Node): Cost {
  switch (n.k) {
    case 'atom':
      return { c: 1, d: 0 };
    case 'look':
      return costOf(n.body);
    case 'backref':
      throw new Unsafe('it uses a backreference, which can take exponential time');
    case 'seq':
      return n.items.map(costOf).reduce((a, b) => ({ c: a.c * b.c, d: a.d + b.d }), { c: 1, d: 0 });
    case 'alt': {
      const costs = n.branches.map(costOf);
      // branches that cannot start on the same character never compete for a text
      const c = exclusive(n.branches) ? Math.max(...costs.map((x) => x.c)) : costs.reduce((s, x) => s + x.c, 0);
      return { c, d: Math.max(...costs.map((x) => x.d)) };
    }
    case 'quant': {
      const body = costOf(n.body);
      if (n.max === 0) return { c: 1, d: 0 };
      if (n.max === 1) return n.min === 1 ? body : { c: body.c + 1, d: body.d };
      if (body.d > 0) throw new Unsafe('it repeats a part that holds a quantifier itself (nested quantifiers such as (a+)+)');
      if (body.c > 1) {
        throw new Unsafe(
          'it repeats a part that can match in several ways (an alternation or optional part under *, + or {n,m}, such as (a|a)*)',
        );
      }
      const span = n.max - n.min + 1;
      return span > WIDE_REPEAT ? { c: 1, d: 1 } : { c: span, d: 0 };
    }
  }
}

/** True when no two branches can match from the same position: none matches the empty
 * text, and their start characters are known and pairwise disjoint. */
function exclusive(branches: Node[]): boolean {
  const seen = new Set<string>();
  for (const b of branches) {
    const f = firstOf(b);
    if (f === 'any' || nullable(b)) return false;
    for (const ch of f) {
      if (seen.has(ch)) return false;
    }
    for (const ch of f) seen.add(ch);
  }
  return true;
}

function firstOf(n: Node): First {
  switch (n.k) {
    case 'atom':
      return n.first;
    case 'look':
    case 'backref':
      return 'any';
    case 'quant':
      return firstOf(n.body);
    case 'alt':
      return union(n.branches);
    case 'seq': {
      // the first item, and the next ones while those before can match nothing
      const lead: Node[] = [];
      for (const item of n.items) {
        lead.push(item);
        if (!nullable(item)) break;
      }
      return union(lead);
    }
  }
}

function union(nodes: Node[]): First {
  const out = new Set<string>();
  for (const x of nodes) {
    const f = firstOf(x);
    if (f === 'any') return 'any';
    for (const ch of f) out.add(ch);
  }
  return out;
}

/** Whether it can match the empty text. */
function nullable(n: Node): boolean {
  switch (n.k) {
    case 'atom':
      return n.empty === true;
    case 'look':
    case 'backref':
      return true;
    case 'quant':
      return n.min === 0 || nullable(n.body);
    case 'alt':
      return n.branches.some(nullable);
    case 'seq':
      return n.items.every(nullable);
  }
}

/** Enough of the JavaScript / Oniguruma syntax to see structure; anything it does not
 * know is an atom, which the real engine then compiles (or rejects) itself. */
class Parser {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly nestedClasses: boolean,
  ) {}

  /** Fails closed: a pattern this parser cannot follow to the end is refused, so text it
   * skipped over (inside what it took for a class) can never hide a quantifier. */
  parse(): Node {
    const n = this.alt();
    if (this.i < this.s.length) throw new Unsafe(`its parentheses do not balance (an unmatched ")" at index ${this.i})`);
    return n;
  }

  private alt(): Node {
    const branches = [this.seq()];
    while (this.s[this.i] === '|') {
      this.i++;
      branches.push(this.seq());
    }
    return branches.length === 1 ? branches[0] : { k: 'alt', branches };
  }

  private seq(): Node {
    const items: Node[] = [];
    while (this.i < this.s.length && this.s[this.i] !== '|' && this.s[this.i] !== ')') {
      let atom = this.atom();
      for (let q = this.quantifier(); q; q = this.quantifier()) atom = { k: 'quant', body: atom, ...q };
      items.push(atom);
    }
    return items.length === 1 ? items[0] : { k: 'seq', items };
  }

  private atom(): Node {
    const ch = this.s[this.i++]!;
    if (ch === '(') return this.group();
    if (ch === '[') {
      this.skipClass();
      return ANY;
    }
    if (ch === '\\') return this.escape();
    if (ch === '^' || ch === '$') return ZERO_WIDTH;
    if (ch === '.') return ANY;
    return literal(ch);
  }

  private group(): Node {
    const s = this.s;
    let look = false;
    if (s[this.i] === '?') {
      this.i++;
      if (s[this.i] === '<' && s[this.i + 1] !== '=' && s[this.i + 1] !== '!') {
        while (this.i < s.length && s[this.i] !== '>') this.i++; // (?<name>
        this.i++;
      } else if ('=!:>'.includes(s[this.i])) {
        look = s[this.i] === '=' || s[this.i] === '!';
        this.i++;
      } else if (s[this.i] === '<') {
        look = true;
        this.i += 2; // (?<= (?<!
      } else {
        while (this.i < s.length && /[a-zA-Z-]/.test(s[this.i])) this.i++; // (?i: (?i)
        if (s[this.i] === ')') {
          this.i++;
          return ZERO_WIDTH;
        }
        this.i++;
      }
    }
    const body = this.alt();
    if (s[this.i] !== ')') throw new Unsafe('its parentheses do not balance (a "(" is never closed)');
    this.i++;
    return look ? { k: 'look', body } : body;
  }

  /** `[...]`; nested classes and a leading literal ']' when reading as Oniguruma. */
  private skipClass(): void {
    const s = this.s;
    if (s[this.i] === '^') this.i++;
    // a leading ']' is a literal to Oniguruma; to JavaScript `[]` and `[^]` are whole classes
    if (s[this.i] === ']' && this.nestedClasses) this.i++;
    let depth = 1;
    while (this.i < s.length && depth > 0) {
      const ch = s[this.i++];
      if (ch === '\\') this.i++;
      else if (ch === '[' && this.nestedClasses) depth++;
      else if (ch === ']') depth--;
    }
    if (depth > 0) throw new Unsafe('it has a character class "[" that is never closed');
  }

  private escape(): Node {
    const s = this.s;
    const ch = s[this.i++];
    if (ch !== undefined && /[1-9]/.test(ch)) return { k: 'backref' };
    if (ch === 'k' && s[this.i] === '<') return { k: 'backref' };
    if ((ch === 'p' || ch === 'P' || ch === 'x' || ch === 'u') && s[this.i] === '{') {
      while (this.i < s.length && s[this.i] !== '}') this.i++;
      this.i++;
    }
    // `\.` is a literal; a letter or digit escape is a class, an anchor or a code (any)
    return ch !== undefined && !/[\p{L}\p{N}]/u.test(ch) ? literal(ch) : ch === 'b' || ch === 'B' ? ZERO_WIDTH : ANY;
  }

  private quantifier(): { min: number; max: number } | null {
    const s = this.s;
    const ch = s[this.i];
    let q: { min: number; max: number } | null = null;
    if (ch === '*') q = { min: 0, max: Infinity };
    else if (ch === '+') q = { min: 1, max: Infinity };
    else if (ch === '?') q = { min: 0, max: 1 };
    if (q) this.i++;
    else if (ch === '{') {
      const m = /^\{(\d*)(,(\d*))?\}/.exec(s.slice(this.i, this.i + 24));
      if (!m || (m[1] === '' && m[3] === undefined)) return null; // a literal '{'
      this.i += m[0].length;
      const min = m[1] === '' ? 0 : Number(m[1]);
      q = { min, max: m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]) };
    } else return null;
    if (s[this.i] === '?' || s[this.i] === '+') this.i++; // lazy, possessive
    return q;
  }
}
