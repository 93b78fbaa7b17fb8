/**
 * `$filter` for Graph's dialect, hand-written: no maintained OData parser for JavaScript covers this
 * dialect (GUID and DateTimeOffset literals, `in`, case-insensitive keywords) with positions in its
 * error messages and without pulling in a whole OData server. Grammar (keywords case-insensitive):
 *
 *   filter     := or EOF
 *   or         := and ( 'or' and )*
 *   and        := unary ( 'and' unary )*
 *   unary      := 'not' unary | primary
 *   primary    := '(' or ')' | function | comparison
 *   function   := ('startswith' | 'endswith' | 'contains') '(' property ',' string ')'
 *   comparison := operand ( ('eq'|'ne'|'gt'|'ge'|'lt'|'le') operand | 'in' '(' literal ( ',' literal )* ')' )
 *   operand    := property | literal
 *   literal    := string | integer | datetime | guid | 'null' | 'true' | 'false'
 *   string     := "'" ( any character except "'" | "''" )* "'"
 *
 * A comparison needs exactly one property side; the literal must fit the property's type.
 */
import type { EntityDef, PropertyDef } from '../model/edm.js';
import { parseIsoToUs } from '../time.js';
import { errors, type GraphError } from './errors.js';

export type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
export type StringFunction = 'startswith' | 'endswith' | 'contains';

/** A literal after type checking against its property: strings, integers, or microseconds for dates. */
export type FilterValue = string | number | null;

export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode }
  | { kind: 'compare'; op: CompareOp; property: PropertyDef; value: FilterValue }
  | { kind: 'in'; property: PropertyDef; values: FilterValue[] }
  | { kind: 'function'; name: StringFunction; property: PropertyDef; value: string };

type Token =
  | { t: 'ident'; v: string; pos: number }
  | { t: 'string'; v: string; pos: number }
  | { t: 'number'; v: string; pos: number }
  | { t: 'datetime'; v: string; pos: number }
  | { t: 'guid'; v: string; pos: number }
  | { t: '(' | ')' | ','; pos: number }
  | { t: 'eof'; pos: number };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})/i;
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_.]*/;

const COMPARE = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const FUNCTIONS = new Set(['startswith', 'endswith', 'contains']);
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function syntax(text: string, pos: number, what: string): GraphError {
  return errors.badRequest(`Invalid $filter: ${what} at position ${pos + 1} in '${text}'.`);
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      out.push({ t: c, pos: i });
      i++;
      continue;
    }
    if (c === "'") {
      let v = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw syntax(text, i, 'unterminated string literal');
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            v += "'";
            j += 2;
            continue;
          }
          break;
        }
        v += text[j];
        j++;
      }
      if (v.includes('\u0000')) throw syntax(text, i, 'a NUL character (U+0000) in a string literal');
      out.push({ t: 'string', v, pos: i });
      i = j + 1;
      continue;
    }
    const rest = text.slice(i);
    const m = GUID.exec(rest) ?? DATETIME.exec(rest);
    if (m && !/[A-Za-z0-9_.-]/.test(rest[m[0].length] ?? '')) {
      out.push({ t: m[0].includes('T') && DATETIME.test(m[0]) && !GUID.test(m[0]) ? 'datetime' : 'guid', v: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    const n = NUMBER.exec(rest);
    if (n && (c === '-' || /\d/.test(c))) {
      out.push({ t: 'number', v: n[0], pos: i });
      i += n[0].length;
      continue;
    }
    const id = IDENT.exec(rest);
    if (id) {
      out.push({ t: 'ident', v: id[0], pos: i });
      i += id[0].length;
      continue;
    }
    throw syntax(text, i, `unexpected character '${c}'`);
  }
  out.push({ t: 'eof', pos: text.length });
  return out;
}

type Operand = { side: 'property'; property: PropertyDef; pos: number } | { side: 'literal'; token: Token };

/** Parses and type-checks a `$filter` expression against an entity. Throws 400 GraphErrors. */
export function parseFilter(text: string, def: EntityDef): FilterNode {
  const tokens = tokenize(text);
  let k = 0;
  const peek = () => tokens[k]!;
  const next = () => tokens[k++]!;
  const isWord = (tok: Token, w: string) => tok.t === 'ident' && tok.v.toLowerCase() === w;
  const expect = (t: Token['t'], what: string) => {
    const tok = next();
    if (tok.t !== t) throw syntax(text, tok.pos, `expected ${what}`);
    return tok;
  };
  const props = new Map(def.properties.map((p) => [p.name.toLowerCase(), p]));

  const property = (tok: Token): PropertyDef => {
    if (tok.t !== 'ident') throw syntax(text, tok.pos, 'expected a property name');
    const p = props.get(tok.v.toLowerCase());
    if (!p) throw errors.badRequest(`Could not find a property named '${tok.v}' on type '${def.typeName}'.`);
    if (!p.filterable) throw errors.badRequest(`The property '${p.name}' cannot be used in $filter.`);
    return p;
  };

  const literal = (tok: Token, p: PropertyDef): FilterValue => {
    if (tok.t === 'ident' && tok.v.toLowerCase() === 'null') {
      return null;
    }
    switch (p.type) {
      case 'Edm.String':
        if (tok.t === 'string' || tok.t === 'guid') return tok.v;
        break;
      case 'Edm.Int32':
        if (tok.t === 'number') {
          const n = Number(tok.v);
          if (Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX && /^-?\d+$/.test(tok.v)) return n;
        }
        break;
      case 'Edm.DateTimeOffset':
        if (tok.t === 'datetime') {
          const us = parseIsoToUs(tok.v);
          if (us !== undefined) return us;
          throw syntax(text, tok.pos, `invalid DateTimeOffset literal '${tok.v}'`);
        }
        break;
      default:
        break;
    }
    const shown = tok.t === 'string' ? `'${tok.v}'` : 'v' in tok ? tok.v : tok.t;
    throw errors.badRequest(`Invalid $filter: the literal ${shown} at position ${tok.pos + 1} does not fit the type ${p.type} of '${p.name}'.`);
  };

  const operand = (): Operand => {
    const tok = next();
    if (tok.t === 'ident' && !['null', 'true', 'false'].includes(tok.v.toLowerCase())) {
      return { side: 'property', property: property(tok), pos: tok.pos };
    }
    if (tok.t === 'string' || tok.t === 'number' || tok.t === 'guid' || tok.t === 'datetime' || tok.t === 'ident') {
      return { side: 'literal', token: tok };
    }
    throw syntax(text, tok.pos, tok.t === 'eof' ? 'unexpected end of expression' : `unexpected '${tok.t}'`);
  };

  const FLIP: Record<CompareOp, CompareOp> = { eq: 'eq', ne: 'ne', gt: 'lt', ge: 'le', lt: 'gt', le: 'ge' };

  const comparison = (): FilterNode => {
    const left = operand();
    const opTok = next();
    if (opTok.t !== 'ident' || !(COMPARE.has(opTok.v.toLowerCase()) || opTok.v.toLowerCase() === 'in')) {
      throw syntax(text, opTok.pos, 'expected a comparison operator (eq, ne, gt, ge, lt, le, in)');
    }
    const op = opTok.v.toLowerCase();
    if (op === 'in') {
      if (left.side !== 'property') throw syntax(text, opTok.pos, "the left side of 'in' must be a property");
      expect('(', "'(' after 'in'");
      const values: FilterValue[] = [literal(next(), left.property)];
      while (peek().t === ',') {
        next();
        values.push(literal(next(), left.property));
      }
      expect(')', "')' closing the 'in' list");
      return { kind: 'in', property: left.property, values };
    }
    const right = operand();
    if (left.side === 'property' && right.side === 'literal') {
      return { kind: 'compare', op: op as CompareOp, property: left.property, value: orderable(op, left.property, literal(right.token, left.property), opTok.pos) };
    }
    if (left.side === 'literal' && right.side === 'property') {
      const flipped = FLIP[op as CompareOp];
      return { kind: 'compare', op: flipped, property: right.property, value: orderable(op, right.property, literal(left.token, right.property), opTok.pos) };
    }
    throw syntax(text, opTok.pos, 'a comparison needs one property and one literal');
  };

  const orderable = (op: string, p: PropertyDef, v: FilterValue, pos: number): FilterValue => {
    if (v === null && op !== 'eq' && op !== 'ne') throw syntax(text, pos, `'${op}' cannot compare '${p.name}' with null`);
    return v;
  };

  const primary = (): FilterNode => {
    const tok = peek();
    if (tok.t === '(') {
      next();
      const inner = or();
      expect(')', "')'");
      return inner;
    }
    if (tok.t === 'ident' && FUNCTIONS.has(tok.v.toLowerCase()) && tokens[k + 1]?.t === '(') {
      next();
      next();
      const p = property(next());
      expect(',', "',' between the arguments");
      const arg = next();
      if (p.type !== 'Edm.String') throw errors.badRequest(`Invalid $filter: ${tok.v.toLowerCase()} needs a string property; '${p.name}' is ${p.type}.`);
      if (arg.t !== 'string') throw syntax(text, arg.pos, 'expected a string literal');
      expect(')', "')' closing the function call");
      return { kind: 'function', name: tok.v.toLowerCase() as StringFunction, property: p, value: arg.v };
    }
    return comparison();
  };

  const unary = (): FilterNode => {
    if (isWord(peek(), 'not')) {
      next();
      return { kind: 'not', operand: unary() };
    }
    return primary();
  };

  const and = (): FilterNode => {
    let left = unary();
    while (isWord(peek(), 'and')) {
      next();
      left = { kind: 'and', left, right: unary() };
    }
    return left;
  };

  function or(): FilterNode {
    let left = and();
    while (isWord(peek(), 'or')) {
      next();
      left = { kind: 'or', left, right: and() };
    }
    return left;
  }

  if (text.trim() === '') throw errors.badRequest('Invalid $filter: the expression is empty.');
  const tree = or();
  const end = peek();
  if (end.t !== 'eof') throw syntax(text, end.pos, `unexpected '${'v' in end ? end.v : end.t}'`);
  return tree;
}
