import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { GraphError } from '../../src/graph/errors.js';
import { FILTER_LIMITS, parseFilter, type FilterNode, type FilterProperty, type FilterSchema } from '../../src/graph/filter.js';
import { filterSchema } from '../../src/graph/query.js';
import { androidForWorkEnrollmentProfile as def } from '../../src/model/androidForWorkEnrollmentProfile.js';

const schema = filterSchema(def);

/** A schema with the types today's entity lacks: Boolean, enum, and a type $filter cannot compare. */
const WIFI: FilterProperty[] = [
  { name: 'ssid', type: { kind: 'string' }, filterable: true, nullable: true },
  { name: 'configureWifi', type: { kind: 'boolean' }, filterable: true, nullable: false },
  { name: 'wifiSecurityType', type: { kind: 'enum', typeName: 'microsoft.graph.aospWifiSecurityType', members: ['none', 'wpa', 'wep'] }, filterable: true, nullable: true },
  { name: 'hiddenSsid', type: { kind: 'boolean' }, filterable: false, nullable: false },
  { name: 'roles', type: { kind: 'other', typeName: 'Collection(Edm.String)' }, filterable: true, nullable: false },
];
const wifi: FilterSchema = { typeName: 'aospDeviceOwnerEnrollmentProfile', property: (n) => WIFI.find((p) => p.name.toLowerCase() === n.toLowerCase()) };

const VALID = [
  "displayName eq 'a'",
  "startswith(displayName,'x') and not (description eq null)",
  "enrolledDeviceCount ge 3 or tokenValue in ('A', 'B')",
  'createdDateTime lt 2026-11-29T08:00:00.1234567Z',
  "id eq '0f8fad5b-d9cb-469f-a165-70867728950e' or contains(description,'it''s')",
  'enrolledDeviceCount gt -1.5e0 and true',
];

/** The tree with each property shown by name. */
function shape(node: FilterNode): unknown {
  return JSON.parse(JSON.stringify(node, (k, v: unknown) => (k === 'property' ? (v as FilterProperty).name : k === 'column' ? undefined : v)));
}

const tree = (text: string, s: FilterSchema = schema) => shape(parseFilter(text, s));

function refusal(text: string, s: FilterSchema = schema): string {
  try {
    parseFilter(text, s);
  } catch (err) {
    assert.ok(err instanceof GraphError, `non-Graph error for ${JSON.stringify(text.slice(0, 80))}: ${String(err)}`);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'BadRequest');
    return err.message;
  }
  assert.fail(`accepted: ${text.slice(0, 200)}`);
}

function parsesOrRefusesCleanly(text: string, s: FilterSchema = schema): void {
  try {
    parseFilter(text, s);
  } catch (err) {
    assert.ok(err instanceof GraphError, `non-Graph error for ${JSON.stringify(text)}: ${String(err)}`);
    assert.equal(err.status, 400);
    assert.ok(err.message.length > 0);
  }
}

describe('$filter parser', () => {
  it('parses valid expressions', () => {
    for (const text of VALID) assert.doesNotThrow(() => parseFilter(text, schema), text);
  });

  it('builds the expected tree, with literal-first comparisons flipped', () => {
    assert.deepEqual(tree("3 lt enrolledDeviceCount and not startswith(displayName,'a''b')"), {
      kind: 'and',
      operands: [
        { kind: 'compare', op: 'gt', property: 'enrolledDeviceCount', value: 3 },
        { kind: 'not', operand: { kind: 'function', name: 'startswith', property: 'displayName', value: "a'b" } },
      ],
    });
  });

  it('nodes hold the property objects the schema hands out', () => {
    const node = parseFilter("displayName eq 'a'", schema);
    assert.equal(node.kind === 'compare' && node.property, schema.property('DISPLAYNAME'));
  });

  it('flattens chains of one operator and folds constants', () => {
    assert.deepEqual(tree("displayName eq 'a' or (displayName eq 'b' or displayName eq 'c') or false"), {
      kind: 'or',
      operands: ['a', 'b', 'c'].map((value) => ({ kind: 'compare', op: 'eq', property: 'displayName', value })),
    });
    assert.deepEqual(tree("displayName eq 'a' and true"), { kind: 'compare', op: 'eq', property: 'displayName', value: 'a' });
    assert.deepEqual(tree("displayName eq 'a' and false"), { kind: 'const', value: false });
    assert.deepEqual(tree("not not (displayName eq 'a')"), { kind: 'compare', op: 'eq', property: 'displayName', value: 'a' });
    assert.deepEqual(tree("(displayName eq 'a') eq false"), { kind: 'not', operand: { kind: 'compare', op: 'eq', property: 'displayName', value: 'a' } });
  });

  it('Boolean literals and literal comparisons are whole filters', () => {
    for (const [text, value] of [
      ['true', true], ['FALSE', false], ['tRUe', true], ['(true)', true], ['( false )', false], ['true eq false', false], ['true ne false', true],
      ['true and false', false], ['true or false', true], ['not true', false], ['1 eq 1.0', true], ['2 gt 1.5', true], ['NaN eq NaN', false],
      ['NaN ne NaN', true], ['-INF lt INF', true], ["'a' lt 'b'", true], ["'é' gt 'z'", true], ['null eq null', true], ["null ne 'a'", true],
      ['2020-01-01T00:00:00Z eq 2020-01-01T01:00:00+01:00', true],
    ] as const) {
      assert.deepEqual(tree(text), { kind: 'const', value }, text);
    }
  });

  it('a filter must be Boolean; type errors name both types', () => {
    assert.match(refusal('0'), /Edm\.Boolean.*Edm\.Int32/);
    assert.match(refusal('enrolledDeviceCount'), /Edm\.Boolean.*'enrolledDeviceCount' of type Edm\.Int32/);
    assert.match(refusal("'x'"), /Edm\.Boolean.*Edm\.String/);
    assert.match(refusal("enrolledDeviceCount eq 'x'"), /Edm\.String.*'enrolledDeviceCount' of type Edm\.Int32/);
    assert.match(refusal('id eq 0f8fad5b-d9cb-469f-a165-70867728950e'), /Edm\.Guid.*'id' of type Edm\.String/);
    assert.match(refusal('createdDateTime gt 2020-01-01'), /Edm\.Date.*Edm\.DateTimeOffset/);
    assert.match(refusal('createdDateTime gt INF'), /Edm\.Double.*Edm\.DateTimeOffset/);
    assert.match(refusal('displayName eq 1.5'), /Edm\.Decimal.*Edm\.String/);
    assert.match(refusal('displayName eq 3000000000'), /Edm\.Int64.*Edm\.String/);
    assert.match(refusal("true eq 'x'"), /Edm\.String.*Edm\.Boolean/);
    assert.match(refusal("(displayName eq 'a') eq 1"), /Edm\.Int32.*Edm\.Boolean/);
    assert.match(refusal("startswith(enrolledDeviceCount,'1')"), /Edm\.String.*Edm\.Int32/);
    assert.match(refusal('contains(displayName,1)'), /Edm\.Int32, not Edm\.String/);
    assert.match(refusal('true gt false'), /'gt' is not defined for Edm\.Boolean/);
  });

  it('compares numeric literals with an Int32 property by value, as integer comparisons or constants', () => {
    const cases: [string, unknown][] = [
      ['eq 1.0', ['eq', 1]], ['eq 1e0', ['eq', 1]], ['eq +42', ['eq', 42]], ['eq 10E-1', ['eq', 1]], ['eq -0.0', ['eq', 0]],
      ['eq 1.5', false], ['ne 1.5', true], ['eq 3.14', false], ['eq 1e-101', false], ['eq -1.234567e3', false],
      ['gt 1.5', ['ge', 2]], ['ge 1.5', ['ge', 2]], ['lt 1.5', ['le', 1]], ['le 1.5', ['le', 1]],
      ['gt -1.5', ['ge', -1]], ['ge -1.5', ['ge', -1]], ['lt -1.5', ['le', -2]], ['le -1.5', ['le', -2]],
      ['gt 5.00', ['gt', 5]], ['lt 2.55', ['le', 2]], ['gt 1e-101', ['ge', 1]], ['lt 1e-101', ['le', 0]], ['ge -1e-101', ['ge', 0]],
      ['eq NaN', false], ['ne NaN', true], ['lt NaN', false], ['ge NaN', false],
      ['eq INF', false], ['ne -INF', true], ['lt INF', ['le', 2147483647]], ['gt INF', false], ['gt -INF', ['ge', -2147483648]], ['le -INF', false],
      ['eq 2147483647', ['eq', 2147483647]], ['eq -2147483648', ['eq', -2147483648]], ['eq 2147483648', false], ['ne 3000000000', true],
      ['lt 3000000000', ['le', 2147483647]], ['gt 3000000000', false], ['gt -3000000000', ['ge', -2147483648]], ['lt -3000000000', false],
      ['ge 2147483647.5', false], ['gt 2147483646.5', ['ge', 2147483647]], ['le -2147483648.5', false], ['lt -2147483647.5', ['le', -2147483648]],
      ['eq 2147483647.0000000000000001', false], ['le 2147483647.0000000000000001', ['le', 2147483647]], ['eq 1e400', false], ['lt 1e400', ['le', 2147483647]],
      ['eq 123456789012345678901234567890e-29', false], ['eq 100000000000000000000000000000e-29', ['eq', 1]],
    ];
    for (const [rest, want] of cases) {
      const got = tree(`enrolledDeviceCount ${rest}`) as { kind: string; op?: string; value?: unknown };
      const expected = typeof want === 'boolean' ? { kind: 'const', value: want } : { kind: 'compare', op: (want as [string, number])[0], property: 'enrolledDeviceCount', value: (want as [string, number])[1] };
      assert.deepEqual(got, expected, rest);
    }
    assert.deepEqual(tree('2.5 lt enrolledDeviceCount'), { kind: 'compare', op: 'ge', property: 'enrolledDeviceCount', value: 3 });
    assert.deepEqual(tree('enrolledDeviceCount in (1, 1.5, 2.0, NaN, 1e10)'), { kind: 'in', property: 'enrolledDeviceCount', values: [1, 2] });
    assert.deepEqual(tree('enrolledDeviceCount in (1.5)'), { kind: 'const', value: false });
  });

  it('fuzz: the Int32 rewrite agrees with comparing the exact values', () => {
    const ops = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'] as const;
    fc.assert(
      fc.property(fc.integer({ min: -40, max: 40 }), fc.integer({ min: -3, max: 3 }), fc.constantFrom(...ops), fc.integer({ min: -4, max: 4 }), (mantissa, exp, op, x) => {
        const text = `${mantissa}e${exp}`;
        const lit = mantissa * 10 ** exp;
        const want = { eq: x === lit, ne: x !== lit, gt: x > lit, ge: x >= lit, lt: x < lit, le: x <= lit }[op];
        const n = parseFilter(`enrolledDeviceCount ${op} ${text}`, schema);
        const got = n.kind === 'const' ? n.value : n.kind === 'compare' && typeof n.value === 'number'
          ? { eq: x === n.value, ne: x !== n.value, gt: x > n.value, ge: x >= n.value, lt: x < n.value, le: x <= n.value }[n.op]
          : assert.fail(JSON.stringify(shape(n)));
        assert.equal(got, want, `${x} ${op} ${text}`);
      }),
      { numRuns: 2000, seed: 5 },
    );
  });

  it('refuses invalid literals, with positions', () => {
    assert.match(refusal('createdDateTime gt 2011-12-31T24:00Z'), /DateTimeOffset literal '2011-12-31T24:00Z' at position 20 \(hour 24\)/);
    assert.match(refusal('createdDateTime gt 2012-09-03T24:00-03:00'), /hour 24/);
    assert.match(refusal('createdDateTime gt 1972-06-30T23:59:60Z'), /second 60/);
    assert.match(refusal('createdDateTime gt 0000-01-01T00:00Z'), /year 0000/);
    assert.match(refusal('createdDateTime gt 2020-01-01T00:00+15:00'), /offset 15:00/);
    assert.match(refusal('createdDateTime gt 2020-02-30T00:00Z'), /DateTimeOffset literal/);
    assert.match(refusal('createdDateTime gt 2020-01-01T00:00:00.12345678Z'), /7 fractional digits/);
    assert.match(refusal('createdDateTime gt 0001-01-01T00:00+01:00'), /DateTimeOffset literal/);
    assert.match(refusal('enrolledDeviceCount eq 42.'), /malformed literal '42\.' at position 24/);
    assert.match(refusal('enrolledDeviceCount eq .1'), /unexpected character '\.' at position 24/);
    assert.match(refusal('enrolledDeviceCount eq -0.314e1e2'), /malformed literal/);
    assert.match(refusal('enrolledDeviceCount eq -NaN'), /unexpected character '-'/);
    assert.match(refusal("displayName eq 'O'Neil'"), /position/);
    assert.match(refusal("displayName in (displayName, description)"), /'in' list holds literals only at position 17/);
    assert.match(refusal("displayName eq ('a','b')"), /expected '\)'/);
    assert.match(refusal(' true'), /whitespace before the expression at position 1/);
    assert.match(refusal('true '), /whitespace after the expression/);
    assert.match(refusal(''), /empty/);
    assert.match(refusal('length(displayName) eq 19'), /function 'length'.*not supported/);
    assert.match(refusal('enrolledDeviceCount add 2 eq 5'), /operator 'add' is not supported at position 21/);
    assert.match(refusal('displayName gt null'), /'gt' cannot compare 'displayName' with null/);
    assert.match(refusal("qrCodeImage eq 'x'"), /qrCodeImage' cannot be used/);
    assert.match(refusal("qrCodeContent eq 'x'"), /qrCodeContent' cannot be used/);
  });

  it('Boolean properties: bare, negated, compared with true/false/null', () => {
    const p = { kind: 'compare', op: 'eq', property: 'configureWifi', value: true };
    assert.deepEqual(tree('configureWifi', wifi), p);
    assert.deepEqual(tree('CONFIGUREWIFI', wifi), p);
    assert.deepEqual(tree('not configureWifi', wifi), { kind: 'not', operand: p });
    assert.deepEqual(tree('(configureWifi)', wifi), p);
    assert.deepEqual(tree('configureWifi eq true', wifi), p);
    assert.deepEqual(tree('false eq configureWifi', wifi), { ...p, value: false });
    assert.deepEqual(tree('configureWifi ne null', wifi), { ...p, op: 'ne', value: null });
    assert.deepEqual(tree('configureWifi in (true, null)', wifi), { kind: 'in', property: 'configureWifi', values: [true, null] });
    assert.deepEqual(tree("configureWifi and ssid eq 'x'", wifi), { kind: 'and', operands: [p, { kind: 'compare', op: 'eq', property: 'ssid', value: 'x' }] });
    assert.match(refusal('configureWifi eq 1', wifi), /Edm\.Int32.*'configureWifi' of type Edm\.Boolean/);
    assert.match(refusal("configureWifi eq 'true'", wifi), /Edm\.String.*Edm\.Boolean/);
    assert.match(refusal('configureWifi gt false', wifi), /'gt' is not defined for Edm\.Boolean/);
    assert.match(refusal("configureWifi eq (ssid eq 'x')", wifi), /a literal on one side/);
    assert.match(refusal('hiddenSsid', wifi), /hiddenSsid' cannot be used/);
    assert.match(refusal("roles eq 'x'", wifi), /roles' cannot be used/);
  });

  it('enum properties: bare and qualified member literals, eq/ne/in, unknown members listed', () => {
    const p = { kind: 'compare', op: 'eq', property: 'wifiSecurityType', value: 'wpa' };
    assert.deepEqual(tree("wifiSecurityType eq 'wpa'", wifi), p);
    assert.deepEqual(tree("wifiSecurityType eq microsoft.graph.aospWifiSecurityType'WPA'", wifi), p);
    assert.deepEqual(tree("'wpa' ne wifiSecurityType", wifi), { ...p, op: 'ne' });
    assert.deepEqual(tree('wifiSecurityType eq null', wifi), { ...p, value: null });
    assert.deepEqual(tree("wifiSecurityType in ('none', microsoft.graph.aospWifiSecurityType'wep')", wifi), {
      kind: 'in', property: 'wifiSecurityType', values: ['none', 'wep'],
    });
    assert.match(refusal("wifiSecurityType eq 'wpa3'", wifi), /'wpa3' at position 21 is not a member of microsoft\.graph\.aospWifiSecurityType; its members are none, wpa, wep/);
    assert.match(refusal("wifiSecurityType eq microsoft.graph.other'wpa'", wifi), /microsoft\.graph\.other.*microsoft\.graph\.aospWifiSecurityType/);
    assert.match(refusal('wifiSecurityType eq 1', wifi), /Edm\.Int32.*microsoft\.graph\.aospWifiSecurityType/);
    assert.match(refusal("wifiSecurityType lt 'wpa'", wifi), /'lt' is not defined for microsoft\.graph\.aospWifiSecurityType/);
    assert.match(refusal("wifiSecurityType has microsoft.graph.aospWifiSecurityType'wpa'", wifi), /operator 'has' is not supported/);
    assert.match(refusal("ssid eq microsoft.graph.aospWifiSecurityType'wpa'", wifi), /microsoft\.graph\.aospWifiSecurityType.*'ssid' of type Edm\.String/);
    assert.match(refusal("contains(wifiSecurityType,'w')", wifi), /needs an Edm\.String property/);
  });

  it('limits: length, nesting depth and terms, each named, at the limit accepted', () => {
    const { maxLength, maxDepth, maxTerms } = FILTER_LIMITS;
    const long = (n: number) => `displayName eq '${'a'.repeat(n - 17)}'`;
    assert.equal(long(maxLength).length, maxLength);
    assert.doesNotThrow(() => parseFilter(long(maxLength), schema));
    assert.match(refusal(long(maxLength + 1)), new RegExp(`${maxLength + 1} characters long, over the limit of ${maxLength} characters`));

    const nested = (n: number) => `${'('.repeat(n)}true${')'.repeat(n)}`;
    assert.doesNotThrow(() => parseFilter(nested(maxDepth), schema));
    assert.match(refusal(nested(maxDepth + 1)), new RegExp(`deeper than the limit of ${maxDepth} levels`));
    assert.match(refusal(nested(3000)), /deeper than the limit/);
    assert.doesNotThrow(() => parseFilter(`${'not '.repeat(maxDepth)}true`, schema));
    assert.match(refusal(`${'not '.repeat(maxDepth + 1)}true`), /deeper than the limit/);
    assert.match(refusal(`${'not ('.repeat(maxDepth / 2)}not true${')'.repeat(maxDepth / 2)}`), /deeper than the limit/);
    assert.match(refusal(`${'not '.repeat(2000)}true`), /deeper than the limit/);

    const ors = (n: number) => Array.from({ length: n }, (_, i) => `enrolledDeviceCount eq ${i}`).join(' or ');
    assert.doesNotThrow(() => parseFilter(ors(maxTerms), schema));
    assert.match(refusal(ors(maxTerms + 1)), new RegExp(`more than the limit of ${maxTerms} comparisons`));
    const list = (n: number) => `enrolledDeviceCount in (${Array.from({ length: n }, (_, i) => i).join(',')})`;
    assert.doesNotThrow(() => parseFilter(list(maxTerms), schema));
    assert.match(refusal(list(maxTerms + 1)), /more than the limit of 200 comparisons/);
    assert.match(refusal(`${Array.from({ length: maxTerms }, () => 'true').join(' and ')} and contains(displayName,'x')`), /limit of 200 comparisons/);
  });

  it('fuzz: arbitrary text is parsed or refused with a 400, never another error', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60 }), (s) => parsesOrRefusesCleanly(s)), { numRuns: 3000, seed: 7 });
    fc.assert(fc.property(fc.string({ maxLength: 60 }), (s) => parsesOrRefusesCleanly(s, wifi)), { numRuns: 1000, seed: 8 });
  });

  it('fuzz: valid expressions with characters inserted, deleted or swapped are parsed or refused cleanly', () => {
    const mutation = fc.tuple(
      fc.constantFrom(...VALID),
      fc.nat(),
      fc.constantFrom('(', ')', "'", ',', ' ', 'x', '0', '-', '+', '.', 'e', ':', 'T', 'not ', ' eq ', ' in ', 'INF', 'NaN', 'true', ''),
      fc.boolean(),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
        for (const [base, at, insert, del] of muts) {
          const i = at % (base.length + 1);
          parsesOrRefusesCleanly(base.slice(0, i) + insert + base.slice(del ? i + 1 : i));
        }
      }),
      { numRuns: 3000, seed: 11 },
    );
  });
});
