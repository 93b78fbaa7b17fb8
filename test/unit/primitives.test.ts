import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newTokenValue } from '../../src/enrollment/token.js';
import { parseGraphPath } from '../../src/graph/path.js';
import { ENTITIES } from '../../src/model/registry.js';
import { formatUs, parseIsoToUs } from '../../src/time.js';

describe('time', () => {
  it('formats microseconds as ISO 8601 with 7 fractional digits', () => {
    assert.equal(formatUs(Date.UTC(2026, 10, 29, 8, 0, 0, 123) * 1000 + 456), '2026-11-29T08:00:00.1234560Z');
    assert.equal(formatUs(0), '1970-01-01T00:00:00.0000000Z');
  });
  it('parses ISO date-times with offsets and fractions', () => {
    assert.equal(parseIsoToUs('2026-11-29T08:00:00.1234567Z'), Date.UTC(2026, 10, 29, 8) * 1000 + 123456);
    assert.equal(parseIsoToUs('2026-11-29T10:00:00+02:00'), Date.UTC(2026, 10, 29, 8) * 1000);
    assert.equal(parseIsoToUs('2026-02-30T00:00:00Z'), undefined);
    assert.equal(parseIsoToUs('yesterday'), undefined);
  });
});

describe('enrollment token values', () => {
  it('are 20 upper-case letters, all letters appear, no repeats in 20 000 draws', () => {
    const seen = new Set<string>();
    const counts = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const t = newTokenValue();
      assert.match(t, /^[A-Z]{20}$/);
      seen.add(t);
      for (const c of t) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    assert.equal(seen.size, 20_000);
    assert.equal(counts.size, 26);
    // 400 000 letters: each letter ≈ 15 385; a modulo bias of 256 % 26 would push a-j up by ~4 %.
    for (const n of counts.values()) assert.ok(Math.abs(n - 400_000 / 26) < 700, `letter count ${n}`);
  });
});

describe('Graph paths', () => {
  const parse = (p: string) => parseGraphPath(p, ENTITIES);
  it('parses keys, key syntax with doubled quotes, actions and namespaces case-insensitively', () => {
    assert.deepEqual(parse('/beta/deviceManagement/androidForWorkEnrollmentProfiles')?.target.kind, 'collection');
    assert.equal((parse("/v1.0/DeviceManagement/AndroidForWorkEnrollmentProfiles('a''b')")?.target as { id: string }).id, "a'b");
    assert.equal((parse('/beta/deviceManagement/androidForWorkEnrollmentProfiles/AbC')?.target as { id: string }).id, 'AbC');
    assert.deepEqual(parse('/BETA/deviceManagement/androidForWorkEnrollmentProfiles/x/MICROSOFT.GRAPH.createtoken')?.target, {
      kind: 'action', entity: ENTITIES[0], id: 'x', action: 'createToken',
    });
    assert.equal(parse('/beta/$metadata')?.target.kind, 'metadata');
    assert.equal(parse('/beta/')?.target.kind, 'serviceDocument');
    assert.equal(parse('/v2.0/deviceManagement'), undefined);
  });
  it('names the unknown segment as sent', () => {
    assert.throws(() => parse('/beta/deviceManagement/Widgets'), /Resource not found for the segment 'Widgets'\./);
    assert.throws(() => parse('/beta/deviceManagement/androidForWorkEnrollmentProfiles/x/y/z'), /segment 'y'/);
    assert.throws(() => parse("/beta/deviceManagement/androidForWorkEnrollmentProfiles('a'b')"), /Bad key literal/);
  });
});
