/**
 * `$filter` for Graph's dialect, hand-written: no maintained OData parser for JavaScript covers this
 * dialect (GUID and DateTimeOffset literals, `in`, case-insensitive keywords) with positions in its
 * error messages and without pulling in a whole OData server. Grammar (keywords case-insensitive;
 * whitespace is SP or HTAB, and none before or after the whole expression, as in the OData ABNF):
 *
 *   filter     := or EOF                                  -- must be of type Edm.Boolean
 *   or         := and ( 'or' and )*
 *   and        := unary ( 'and' unary )*
 *   unary      := 'not' unary | comparison
 *   comparison := primary [ ('eq'|'ne'|'gt'|'ge'|'lt'|'le') primary | 'in' '(' [ literal ( ',' literal )* ] ')' ]
 *   primary    := '(' or ')' | function | property | literal
 *   function   := ('startswith' | 'endswith' | 'contains') '(' property ',' string ')'
 *   literal    := string | number | datetime | guid | enum | 'null' | 'true' | 'false'
 *   number     := [+-] digits [ '.' digits ] [ 'e' [+-] digits ] | 'INF' | '-INF' | 'NaN'
 *   enum       := [ qualifiedTypeName ] string            -- against an enum property
 *   string     := "'" ( any character except "'" | "''" )* "'"
 *
 * `not` takes the whole comparison after it (`not a eq b` is `not (a eq b)`); OData binds it tighter,
 * but only Boolean operands are allowed there and for them (eq/ne only) both readings agree.
 *
 * Every comparison is type-checked here and reduced to what a store can run on its own terms: a
 * numeric literal meets an Int32 property by value (`x eq 1.5` is false, `x gt 1.5` is `x ge 2`,
 * `x lt 1e12` is `x le 2147483647`, NaN is unequal to everything), so only integers reach SQL —
 * PostgreSQL refuses `integer = '1.5'` at run time. A comparison of two literals is folded into a
 * constant. The parser depends only on `FilterSchema`, so any entity model can be put behind it.
 */
import { MIN_US, parseIsoToUs } from '../time.js';
import { errors, type GraphError } from './errors.js';

/** What `$filter` needs to know of a property's type. `other` (complex, stream, collection …) is never filterable. */
export type FilterType =
  | { kind: 'string' }
  | { kind: 'int32' }
  | { kind: 'boolean' }
  | { kind: 'datetime' }
  /** `typeName` qualified, e.g. `microsoft.graph.aospWifiSecurityType`. */
  | { kind: 'enum'; typeName: string; members: readonly string[] }
  | { kind: 'other'; typeName: string };

export interface FilterProperty {
  /** Canonical casing, for messages. */
  name: string;
  type: FilterType;
  filterable: boolean;
  nullable: boolean;
}

/** The properties of one entity type; nodes of a parsed filter hold the objects it hands out. */
export interface FilterSchema<P extends FilterProperty = FilterProperty> {
  /** For messages, e.g. `androidForWorkEnrollmentProfile`. */
  typeName: string;
  property(nameCaseInsensitive: string): P | undefined;
}

export type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
export type StringFunction = 'startswith' | 'endswith' | 'contains';

/**
 * A literal after type checking against its property: strings (enum members by name), Int32
 * integers, booleans, microseconds since the epoch for DateTimeOffsets, or null.
 */
export type FilterValue = string | number | boolean | null;

export type FilterNode<P extends FilterProperty = FilterProperty> =
  | { kind: 'const'; value: boolean }
  /** Two or more operands, none of the same kind (chains are flattened). */
  | { kind: 'and' | 'or'; operands: FilterNode<P>[] }
  | { kind: 'not'; operand: FilterNode<P> }
  | { kind: 'compare'; op: CompareOp; property: P; value: FilterValue }
  /** One or more values. */
  | { kind: 'in'; property: P; values: FilterValue[] }
  | { kind: 'function'; name: StringFunction; property: P; value: string };

/**
 * Bounds on what one `$filter` may cost, well inside what the stores take: SQLite refuses an
 * expression deeper than 1000 (each and/or chain nests one level per operand there, each `not` one
 * more), and the parser recurses per nesting level. Terms are comparisons, function calls, bare
 * Boolean operands and `in` values.
 */
export const FILTER_LIMITS = { maxLength: 8192, maxDepth: 100, maxTerms: 200 } as const;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** The last microsecond System.DateTimeOffset holds (9999-12-31T23:59:59.9999999Z). */
const MAX_US = Date.UTC(9999, 11, 31, 23, 59, 59, 999) * 1000 + 999;

type Literal =
  | { k: 'null' }
  | { k: 'boolean'; v: boolean }
  | { k: 'string'; v: string }
  /** Decimal text as written, or INF, -INF, NaN. */
  | { k: 'number'; text: string }
  | { k: 'datetime'; text: string }
  | { k: 'date'; text: string }
  | { k: 'guid'; text: string }
  /** `name'…'`: an enum member, or a typed literal (duration, binary, geography …) this service does not take. */
  | { k: 'typed'; type: string; v: string };

type Token = { pos: number; end: number } & ({ t: 'word'; v: string } | { t: 'lit'; lit: Literal } | { t: '(' | ')' | ',' | 'eof' });

type Term<P extends FilterProperty> = { pos: number; end: number } & (
  | { t: 'bool'; node: FilterNode<P> }
  | { t: 'prop'; p: P }
  | { t: 'lit'; lit: Literal }
);

const WORD = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/y;
const GUID = /[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}/y;
const DATETIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/iy;
const DATE = /\d{4}-\d{2}-\d{2}/y;
const NUMBER = /[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|-INF/y;
/** A literal running on into one of these is malformed (`42.`, `1e5x`, `01234g67-…`). */
const RUNS_ON = /[A-Za-z0-9_.:-]/;

const COMPARE = new Set<string>(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const FUNCTIONS = new Set<string>(['startswith', 'endswith', 'contains']);
const UNSUPPORTED_OPERATORS = new Set(['has', 'add', 'sub', 'mul', 'div', 'divby', 'mod']);
const RESERVED = new Set(['and', 'or', 'in', ...COMPARE, ...UNSUPPORTED_OPERATORS]);
const FLIP: Record<CompareOp, CompareOp> = { eq: 'eq', ne: 'ne', gt: 'lt', ge: 'le', lt: 'gt', le: 'ge' };
const TYPED_NAMES: Record<string, string> = {
  duration: 'Edm.Duration', binary: 'Edm.Binary', x: 'Edm.Binary', geography: 'Edm.Geography', geometry: 'Edm.Geometry',
};

export function edmName(t: FilterType): string {
  switch (t.kind) {
    case 'string':
      return 'Edm.String';
    case 'int32':
      return 'Edm.Int32';
    case 'boolean':
      return 'Edm.Boolean';
    case 'datetime':
      return 'Edm.DateTimeOffset';
    case 'enum':
    case 'other':
      return t.typeName;
  }
}

function literalType(lit: Literal): string {
  switch (lit.k) {
    case 'null':
      return 'null';
    case 'boolean':
      return 'Edm.Boolean';
    case 'string':
      return 'Edm.String';
    case 'datetime':
      return 'Edm.DateTimeOffset';
    case 'date':
      return 'Edm.Date';
    case 'guid':
      return 'Edm.Guid';
    case 'typed':
      return TYPED_NAMES[lit.type.toLowerCase()] ?? lit.type;
    case 'number': {
      if (/^-?INF$|^NaN$|[eE]/.test(lit.text)) return 'Edm.Double';
      if (lit.text.includes('.')) return 'Edm.Decimal';
      const n = BigInt(lit.text);
      return n >= INT32_MIN && n <= INT32_MAX ? 'Edm.Int32' : n >= -(2n ** 63n) && n < 2n ** 63n ? 'Edm.Int64' : 'Edm.Decimal';
    }
  }
}

function syntax(text: string, pos: number, what: string): GraphError {
  return errors.badRequest(`Invalid $filter: ${what} at position ${pos + 1} in '${text}'.`);
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  const at = (re: RegExp, i: number): string | undefined => {
    re.lastIndex = i;
    return re.exec(text)?.[0];
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      out.push({ t: c, pos: i, end: i + 1 });
      i++;
      continue;
    }
    if (c === "'") {
      const { v, end } = quoted(text, i);
      out.push({ t: 'lit', lit: { k: 'string', v }, pos: i, end });
      i = end;
      continue;
    }
    // A GUID may start with letters: try it before a word.
    const guid = at(GUID, i);
    const word = guid === undefined ? at(WORD, i) : undefined;
    if (word !== undefined) {
      const end = i + word.length;
      const lower = word.toLowerCase();
      if (text[end] === "'" && !RESERVED.has(lower) && lower !== 'not') {
        // `microsoft.graph.someEnum'member'`, `duration'P1D'` …: a typed literal.
        const q = quoted(text, end);
        out.push({ t: 'lit', lit: { k: 'typed', type: word, v: q.v }, pos: i, end: q.end });
        i = q.end;
        continue;
      }
      const lit: Literal | undefined =
        lower === 'null' ? { k: 'null' }
        : lower === 'true' || lower === 'false' ? { k: 'boolean', v: lower === 'true' }
        : word === 'INF' || word === 'NaN' ? { k: 'number', text: word }
        : undefined;
      out.push(lit ? { t: 'lit', lit, pos: i, end } : { t: 'word', v: word, pos: i, end });
      i = end;
      continue;
    }
    const datetime = guid === undefined ? at(DATETIME, i) : undefined;
    const date = guid === undefined && datetime === undefined ? at(DATE, i) : undefined;
    const number = guid === undefined && datetime === undefined && date === undefined ? at(NUMBER, i) : undefined;
    const found = guid ?? datetime ?? date ?? number;
    if (found === undefined) throw syntax(text, i, `unexpected character '${c}'`);
    const end = i + found.length;
    if (RUNS_ON.test(text[end] ?? '')) throw syntax(text, i, `malformed literal '${text.slice(i, end + 1)}'`);
    const lit: Literal =
      guid !== undefined ? { k: 'guid', text: found }
      : datetime !== undefined ? { k: 'datetime', text: found }
      : date !== undefined ? { k: 'date', text: found }
      : { k: 'number', text: found };
    out.push({ t: 'lit', lit, pos: i, end });
    i = end;
  }
  out.push({ t: 'eof', pos: text.length, end: text.length });
  return out;
}

/** The string literal opening at `start` (a quote), `''` standing for one quote. */
function quoted(text: string, start: number): { v: string; end: number } {
  let v = '';
  let j = start + 1;
  for (;;) {
    const close = text.indexOf("'", j);
    if (close < 0) throw syntax(text, start, 'unterminated string literal');
    v += text.slice(j, close);
    if (text[close + 1] !== "'") {
      j = close + 1;
      break;
    }
    v += "'";
    j = close + 2;
  }
  if (v.includes('\u0000')) throw syntax(text, start, 'a NUL character (U+0000) in a string literal');
  return { v, end: j };
}

/**
 * A decimal literal's place among the Int32 values: its floor (clamped to one beyond either end of
 * the range, which is all a comparison with an Int32 needs) and whether it is an integer. Exact, from
 * the digits: `2147483647.0000000000000001` is not an integer, though as a double it would be.
 */
function int32Place(text: string): { floor: number; integer: boolean } | 'nan' {
  if (text === 'NaN') return 'nan';
  if (text === 'INF') return { floor: INT32_MAX + 1, integer: true };
  if (text === '-INF') return { floor: INT32_MIN - 1, integer: true };
  const m = /^([+-]?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text)!;
  const negative = m[1] === '-';
  const frac = m[3] ?? '';
  let digits = (m[2]! + frac).replace(/^0+/, '');
  let exp = Number(m[4] ?? '0') - frac.length;
  if (digits === '') return { floor: 0, integer: true };
  const zeros = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - zeros);
  exp += zeros;
  const intDigits = digits.length + exp;
  const clamp = (n: number) => Math.min(INT32_MAX + 1, Math.max(INT32_MIN - 1, n));
  if (intDigits > 10) return { floor: negative ? INT32_MIN - 1 : INT32_MAX + 1, integer: true };
  if (exp >= 0) {
    const magnitude = Number(digits + '0'.repeat(exp));
    return { floor: clamp(negative ? -magnitude : magnitude), integer: true };
  }
  const whole = intDigits > 0 ? Number(digits.slice(0, intDigits)) : 0;
  return { floor: clamp(negative ? -whole - 1 : whole), integer: false };
}

/** `x op literal` for an Int32 `x`, as an integer comparison or a constant. */
function int32Comparison(op: CompareOp, text: string): { op: CompareOp; value: number } | boolean {
  const place = int32Place(text);
  if (place === 'nan') return op === 'ne'; // IEEE 754: NaN equals nothing and orders with nothing
  const { floor, integer } = place;
  if (integer && floor >= INT32_MIN && floor <= INT32_MAX) return { op, value: floor };
  const atLeast = (c: number) => (c > INT32_MAX ? false : { op: 'ge' as const, value: Math.max(c, INT32_MIN) });
  const atMost = (c: number) => (c < INT32_MIN ? false : { op: 'le' as const, value: Math.min(c, INT32_MAX) });
  switch (op) {
    case 'eq':
      return false;
    case 'ne':
      return true; // also for null: `x ne 'a'` is true for nulls (two-valued, see store/query.ts)
    case 'gt':
      return atLeast(floor + 1);
    case 'ge':
      return atLeast(integer ? floor : floor + 1);
    case 'lt':
      return atMost(integer ? floor - 1 : floor);
    case 'le':
      return atMost(floor);
  }
}

function constant<P extends FilterProperty>(value: boolean): FilterNode<P> {
  return { kind: 'const', value };
}

/** `and`/`or` of the operands: chains flattened, constants folded. */
function combine<P extends FilterProperty>(kind: 'and' | 'or', operands: FilterNode<P>[]): FilterNode<P> {
  const absorbing = kind === 'or';
  const out: FilterNode<P>[] = [];
  for (const o of operands) {
    if (o.kind === 'const') {
      if (o.value === absorbing) return o;
      continue;
    }
    if (o.kind === kind) out.push(...o.operands);
    else out.push(o);
  }
  if (out.length === 0) return constant(!absorbing);
  return out.length === 1 ? out[0]! : { kind, operands: out };
}

function negate<P extends FilterProperty>(node: FilterNode<P>): FilterNode<P> {
  if (node.kind === 'const') return constant(!node.value);
  if (node.kind === 'not') return node.operand;
  return { kind: 'not', operand: node };
}

/** UTF-8 byte order (code point order), as both stores compare text. */
function compareText(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

class Parser<P extends FilterProperty> {
  private readonly tokens: Token[];
  private k = 0;
  private depth = 0;
  private terms = 0;

  constructor(
    private readonly text: string,
    private readonly schema: FilterSchema<P>,
  ) {
    this.tokens = tokenize(text);
  }

  filter(): FilterNode<P> {
    const term = this.or();
    const end = this.peek();
    if (end.t !== 'eof') throw this.syntax(end.pos, `unexpected '${this.shown(end)}'`);
    return this.asBool(term);
  }

  private peek(): Token {
    return this.tokens[this.k]!;
  }

  private next(): Token {
    return this.tokens[this.k++]!;
  }

  private get lastEnd(): number {
    return this.tokens[this.k - 1]!.end;
  }

  private isWord(tok: Token, w: string): boolean {
    return tok.t === 'word' && tok.v.toLowerCase() === w;
  }

  private expect(t: Token['t'], what: string): Token {
    const tok = this.next();
    if (tok.t !== t) throw this.syntax(tok.pos, `expected ${what}`);
    return tok;
  }

  private syntax(pos: number, what: string): GraphError {
    return syntax(this.text, pos, what);
  }

  private shown(x: { pos: number; end: number }): string {
    return this.text.slice(x.pos, x.end) || 'end of expression';
  }

  /** One level deeper; checked before recursing, so no input can exhaust the stack. */
  private enter(tok: Token): void {
    if (++this.depth > FILTER_LIMITS.maxDepth) {
      throw errors.badRequest(
        `Invalid $filter: nested deeper than the limit of ${FILTER_LIMITS.maxDepth} levels (parentheses and 'not') at position ${tok.pos + 1}.`,
      );
    }
  }

  private count(at: { pos: number }): void {
    if (++this.terms > FILTER_LIMITS.maxTerms) {
      throw errors.badRequest(
        `Invalid $filter: more than the limit of ${FILTER_LIMITS.maxTerms} comparisons (each function call and 'in' value counts as one) at position ${at.pos + 1}.`,
      );
    }
  }

  private or(): Term<P> {
    return this.chain('or', () => this.and());
  }

  private and(): Term<P> {
    return this.chain('and', () => this.unary());
  }

  private chain(kind: 'and' | 'or', operand: () => Term<P>): Term<P> {
    const first = operand();
    if (!this.isWord(this.peek(), kind)) return first;
    const operands = [this.asBool(first)];
    while (this.isWord(this.peek(), kind)) {
      this.next();
      operands.push(this.asBool(operand()));
    }
    return { t: 'bool', node: combine(kind, operands), pos: first.pos, end: this.lastEnd };
  }

  private unary(): Term<P> {
    const tok = this.peek();
    if (!this.isWord(tok, 'not')) return this.comparison();
    this.next();
    this.enter(tok);
    const operand = this.asBool(this.unary());
    this.depth--;
    return { t: 'bool', node: negate(operand), pos: tok.pos, end: this.lastEnd };
  }

  private comparison(): Term<P> {
    const left = this.primary();
    const opTok = this.peek();
    if (opTok.t !== 'word' || this.isWord(opTok, 'and') || this.isWord(opTok, 'or')) return left;
    const op = opTok.v.toLowerCase();
    if (UNSUPPORTED_OPERATORS.has(op)) throw this.syntax(opTok.pos, `the operator '${opTok.v}' is not supported`);
    if (!COMPARE.has(op) && op !== 'in') throw this.syntax(opTok.pos, 'expected a comparison operator (eq, ne, gt, ge, lt, le, in)');
    this.next();
    if (op !== 'in') this.count(opTok); // an 'in' counts its values
    const node = op === 'in' ? this.inList(left, opTok) : this.compare(op as CompareOp, left, this.primary(), opTok);
    return { t: 'bool', node, pos: left.pos, end: this.lastEnd };
  }

  private primary(): Term<P> {
    const tok = this.next();
    switch (tok.t) {
      case '(': {
        this.enter(tok);
        const inner = this.or();
        this.expect(')', "')'");
        this.depth--;
        return { ...inner, pos: tok.pos, end: this.lastEnd };
      }
      case 'lit':
        return { t: 'lit', lit: tok.lit, pos: tok.pos, end: tok.end };
      case 'word':
        if (this.peek().t === '(') return this.call(tok);
        if (RESERVED.has(tok.v.toLowerCase())) throw this.syntax(tok.pos, `unexpected '${tok.v}'`);
        return { t: 'prop', p: this.property(tok), pos: tok.pos, end: tok.end };
      case 'eof':
        throw this.syntax(tok.pos, 'unexpected end of expression');
      default:
        throw this.syntax(tok.pos, `unexpected '${tok.t}'`);
    }
  }

  private property(tok: Token): P {
    if (tok.t !== 'word') throw this.syntax(tok.pos, 'expected a property name');
    const p = this.schema.property(tok.v);
    if (!p) throw errors.badRequest(`Could not find a property named '${tok.v}' on type '${this.schema.typeName}'.`);
    if (!p.filterable || p.type.kind === 'other') throw errors.badRequest(`The property '${p.name}' cannot be used in $filter.`);
    return p;
  }

  private call(nameTok: Token & { t: 'word' }): Term<P> {
    const name = nameTok.v.toLowerCase();
    if (!FUNCTIONS.has(name)) {
      throw errors.badRequest(`Invalid $filter: the function '${nameTok.v}' at position ${nameTok.pos + 1} is not supported; $filter takes startswith, endswith and contains.`);
    }
    this.next();
    this.count(nameTok);
    const p = this.property(this.next());
    this.expect(',', "',' between the arguments");
    const arg = this.next();
    if (p.type.kind !== 'string') throw errors.badRequest(`Invalid $filter: ${name} needs an Edm.String property; '${p.name}' is ${edmName(p.type)}.`);
    if (arg.t !== 'lit' || arg.lit.k !== 'string') {
      if (arg.t === 'lit') throw errors.badRequest(`Invalid $filter: the second argument of ${name} at position ${arg.pos + 1} is ${literalType(arg.lit)}, not Edm.String.`);
      throw this.syntax(arg.pos, 'expected a string literal');
    }
    this.expect(')', "')' closing the function call");
    return { t: 'bool', node: { kind: 'function', name: name as StringFunction, property: p, value: arg.lit.v }, pos: nameTok.pos, end: this.lastEnd };
  }

  private inList(left: Term<P>, opTok: Token): FilterNode<P> {
    this.expect('(', "'(' after 'in'");
    const items: (Token & { t: 'lit' })[] = [];
    if (this.peek().t === ')') this.count(opTok);
    while (this.peek().t !== ')') {
      const tok = this.next();
      if (tok.t !== 'lit') throw this.syntax(tok.pos, tok.t === 'eof' ? 'unexpected end of expression' : "an 'in' list holds literals only");
      this.count(tok);
      items.push(tok);
      if (this.peek().t !== ',') break;
      this.next();
    }
    this.expect(')', "')' closing the 'in' list");
    if (left.t === 'lit') return combine('or', items.map((tok) => constant(this.fold('eq', left, { t: 'lit', lit: tok.lit, pos: tok.pos, end: tok.end }, opTok))));
    if (left.t !== 'prop') throw this.syntax(opTok.pos, "the left side of 'in' must be a property");
    const values: FilterValue[] = [];
    for (const tok of items) {
      const n = this.propertyLiteral(left.p, 'eq', { t: 'lit', lit: tok.lit, pos: tok.pos, end: tok.end }, tok);
      if (n.kind === 'compare') values.push(n.value); // else a literal no row can equal (1.5 against an Int32)
    }
    return values.length ? { kind: 'in', property: left.p, values } : constant(false);
  }

  private compare(op: CompareOp, left: Term<P>, right: Term<P>, opTok: Token): FilterNode<P> {
    if (left.t === 'prop' && right.t === 'lit') return this.propertyLiteral(left.p, op, right, opTok);
    if (left.t === 'lit' && right.t === 'prop') return this.propertyLiteral(right.p, FLIP[op], left, opTok);
    if (left.t === 'lit' && right.t === 'lit') return constant(this.fold(op, left, right, opTok));
    if (left.t === 'bool' && right.t === 'lit') return this.boolLiteral(left.node, op, right, opTok);
    if (left.t === 'lit' && right.t === 'bool') return this.boolLiteral(right.node, FLIP[op], left, opTok);
    throw this.syntax(opTok.pos, 'a comparison needs a literal on one side');
  }

  private mismatch(lit: Term<P> & { t: 'lit' }, other: string): GraphError {
    return errors.badRequest(`Invalid $filter: the literal ${this.shown(lit)} at position ${lit.pos + 1} is ${literalType(lit.lit)}, which does not compare with ${other}.`);
  }

  private unordered(op: CompareOp, type: string, opTok: Token): GraphError {
    return this.syntax(opTok.pos, `'${op}' is not defined for ${type}; use eq, ne or in`);
  }

  /** `property op literal`, the literal checked against the property's type. */
  private propertyLiteral(p: P, op: CompareOp, lit: Term<P> & { t: 'lit' }, opTok: Token): FilterNode<P> {
    const l = lit.lit;
    const node = (value: FilterValue): FilterNode<P> => ({ kind: 'compare', op, property: p, value });
    if (l.k === 'null') {
      if (op !== 'eq' && op !== 'ne') throw this.syntax(opTok.pos, `'${op}' cannot compare '${p.name}' with null`);
      return node(null);
    }
    const t = p.type;
    if ((t.kind === 'boolean' || t.kind === 'enum') && op !== 'eq' && op !== 'ne') throw this.unordered(op, edmName(t), opTok);
    const against = `'${p.name}' of type ${edmName(t)}`;
    switch (t.kind) {
      case 'string':
        if (l.k === 'string') return node(l.v);
        break;
      case 'int32':
        if (l.k === 'number') {
          const c = int32Comparison(op, l.text);
          return typeof c === 'boolean' ? constant(c) : { kind: 'compare', op: c.op, property: p, value: c.value };
        }
        break;
      case 'datetime':
        if (l.k === 'datetime') return node(this.dateTime(lit, l.text));
        break;
      case 'boolean':
        if (l.k === 'boolean') return node(l.v);
        break;
      case 'enum':
        if (l.k === 'string' || (l.k === 'typed' && l.type.toLowerCase() === t.typeName.toLowerCase())) {
          const member = t.members.find((m) => m.toLowerCase() === l.v.toLowerCase());
          if (member === undefined) {
            throw errors.badRequest(`Invalid $filter: '${l.v}' at position ${lit.pos + 1} is not a member of ${t.typeName}; its members are ${t.members.join(', ')}.`);
          }
          return node(member);
        }
        break;
      case 'other':
        break;
    }
    throw this.mismatch(lit, against);
  }

  /** A Boolean expression compared with a literal. */
  private boolLiteral(expr: FilterNode<P>, op: CompareOp, lit: Term<P> & { t: 'lit' }, opTok: Token): FilterNode<P> {
    const l = lit.lit;
    if (op !== 'eq' && op !== 'ne') throw this.unordered(op, 'Edm.Boolean', opTok);
    if (l.k === 'null') return constant(op === 'ne'); // an expression is true or false, never null
    if (l.k !== 'boolean') throw this.mismatch(lit, 'an Edm.Boolean expression');
    return l.v === (op === 'eq') ? expr : negate(expr);
  }

  /** Two literals compared, by value. */
  private fold(op: CompareOp, a: Term<P> & { t: 'lit' }, b: Term<P> & { t: 'lit' }, opTok: Token): boolean {
    if (a.lit.k === 'null' || b.lit.k === 'null') {
      if (op !== 'eq' && op !== 'ne') throw this.syntax(opTok.pos, `'${op}' cannot compare with null`);
      return (a.lit.k === b.lit.k) === (op === 'eq');
    }
    const x = this.comparable(a);
    const y = this.comparable(b);
    if (x.family !== y.family) throw this.mismatch(b, `the literal ${this.shown(a)} of type ${literalType(a.lit)}`);
    if (x.family === 'boolean' && op !== 'eq' && op !== 'ne') throw this.unordered(op, 'Edm.Boolean', opTok);
    if (typeof x.v === 'number' && typeof y.v === 'number') {
      const [p, q] = [x.v, y.v];
      return { eq: p === q, ne: p !== q, gt: p > q, ge: p >= q, lt: p < q, le: p <= q }[op];
    }
    const c = compareText(String(x.v), String(y.v));
    return { eq: c === 0, ne: c !== 0, gt: c > 0, ge: c >= 0, lt: c < 0, le: c <= 0 }[op];
  }

  /** A literal's value for folding, and the family of literals it compares with (all numbers are one). */
  private comparable(lit: Term<P> & { t: 'lit' }): { family: Literal['k']; v: string | number } {
    const l = lit.lit;
    switch (l.k) {
      case 'boolean':
        return { family: l.k, v: l.v ? 1 : 0 };
      case 'string':
        return { family: l.k, v: l.v };
      case 'guid':
        return { family: l.k, v: l.text.toLowerCase() };
      case 'datetime':
        return { family: l.k, v: this.dateTime(lit, l.text) };
      case 'number':
        return { family: l.k, v: l.text === 'INF' ? Infinity : l.text === '-INF' ? -Infinity : Number(l.text) };
      default:
        throw errors.badRequest(`Invalid $filter: literals of type ${literalType(l)} (position ${lit.pos + 1}) are not supported.`);
    }
  }

  /** A DateTimeOffset literal in microseconds, within what System.DateTimeOffset holds (years 1–9999, hours 0–23). */
  private dateTime(lit: { pos: number }, text: string): number {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:Z|[+-](\d{2}):(\d{2}))$/i.exec(text)!;
    const [year, , , hour, minute, second = '00', frac = '', offH = '00', offM = '00'] = m.slice(1);
    const why =
      Number(year) === 0 ? 'year 0000'
      : Number(hour) > 23 ? `hour ${hour}`
      : Number(minute) > 59 ? `minute ${minute}`
      : Number(second) > 59 ? `second ${second}`
      : frac.length > 7 ? 'more than 7 fractional digits'
      : Number(offH) * 60 + Number(offM) > 14 * 60 || Number(offM) > 59 ? `offset ${offH}:${offM}`
      : undefined;
    const us = why ? undefined : parseIsoToUs(text);
    if (us === undefined || us < MIN_US || us > MAX_US) {
      throw errors.badRequest(`Invalid $filter: invalid DateTimeOffset literal '${text}' at position ${lit.pos + 1}${why ? ` (${why})` : ''}.`);
    }
    return us;
  }

  /** The term as a Boolean expression: a bare Boolean property means `p eq true`. */
  private asBool(term: Term<P>): FilterNode<P> {
    if (term.t === 'bool') return term.node;
    if (term.t === 'prop' && term.p.type.kind === 'boolean') {
      this.count(term);
      return { kind: 'compare', op: 'eq', property: term.p, value: true };
    }
    if (term.t === 'lit' && term.lit.k === 'boolean') {
      this.count(term);
      return constant(term.lit.v);
    }
    const found = term.t === 'prop' ? `'${term.p.name}' of type ${edmName(term.p.type)}` : `the literal ${this.shown(term)} of type ${literalType(term.lit)}`;
    throw errors.badRequest(`Invalid $filter: expected an Edm.Boolean expression at position ${term.pos + 1}, found ${found}.`);
  }
}

/** Parses and type-checks a `$filter` expression against an entity's schema. Throws 400 GraphErrors. */
export function parseFilter<P extends FilterProperty>(text: string, schema: FilterSchema<P>): FilterNode<P> {
  if (text.length > FILTER_LIMITS.maxLength) {
    throw errors.badRequest(`Invalid $filter: the expression is ${text.length} characters long, over the limit of ${FILTER_LIMITS.maxLength} characters.`);
  }
  if (text.trim() === '') throw errors.badRequest('Invalid $filter: the expression is empty.');
  if (/^[ \t]/.test(text)) throw syntax(text, 0, 'whitespace before the expression');
  if (/[ \t]$/.test(text)) throw syntax(text, text.length - 1, 'whitespace after the expression');
  return new Parser(text, schema).filter();
}
