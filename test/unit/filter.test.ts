import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { GraphError } from '../../src/graph/errors.js';
import { parseFilter } from '../../src/graph/filter.js';
import { androidForWorkEnrollmentProfile as def } from '../../src/model/androidForWorkEnrollmentProfile.js';

const VALID = [
  "displayName eq 'a'",
  "startswith(displayName,'x') and not (description eq null)",
  "enrolledDeviceCount ge 3 or tokenValue in ('A', 'B')",
  'createdDateTime lt 2026-11-29T08:00:00.1234567Z',
  "id eq 0f8fad5b-d9cb-469f-a165-70867728950e or contains(description,'it''s')",
];

function parsesOrRefusesCleanly(text: string): void {
  try {
    parseFilter(text, def);
  } catch (err) {
    assert.ok(err instanceof GraphError, `non-Graph error for ${JSON.stringify(text)}: ${String(err)}`);
    assert.equal(err.status, 400);
    assert.ok(err.message.length > 0);
  }
}

describe('$filter parser', () => {
  it('parses valid expressions', () => {
    for (const text of VALID) assert.doesNotThrow(() => parseFilter(text, def), text);
  });

  it('builds the expected tree, with literal-first comparisons flipped', () => {
    const tree = parseFilter("3 lt enrolledDeviceCount and not startswith(displayName,'a''b')", def);
    assert.equal(tree.kind, 'and');
    assert.deepEqual(tree.kind === 'and' && tree.left.kind === 'compare' && [tree.left.op, tree.left.property.name, tree.left.value], ['gt', 'enrolledDeviceCount', 3]);
    assert.deepEqual(tree.kind === 'and' && tree.right.kind === 'not' && tree.right.operand.kind === 'function' && tree.right.operand.value, "a'b");
  });

  it('fuzz: arbitrary text is parsed or refused with a 400, never another error', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60 }), (s) => parsesOrRefusesCleanly(s)), { numRuns: 3000, seed: 7 });
  });

  it('fuzz: valid expressions with characters inserted, deleted or swapped are parsed or refused cleanly', () => {
    const mutation = fc.tuple(fc.constantFrom(...VALID), fc.nat(), fc.constantFrom('(', ')', "'", ',', ' ', 'x', '0', '-', ':', 'T', 'not ', ' eq ', ''), fc.boolean());
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
