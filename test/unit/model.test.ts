import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csdl } from '../../src/graph/metadata.js';
import { ENTITIES } from '../../src/graph/service.js';
import { androidForWorkEnrollmentProfile as def } from '../../src/model/androidForWorkEnrollmentProfile.js';
import { entityColumns } from '../../src/store/schema.js';
import { openSqliteStore } from '../../src/store/sqlite.js';

describe('one model definition', () => {
  it('the migrated SQLite table has exactly the model columns (plus the QR cache)', async () => {
    const store = openSqliteStore(null);
    try {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const db = (store as any).db;
      const cols = db.prepare(`PRAGMA table_info(${def.table})`).all() as { name: string; notnull: number }[];
      const model = entityColumns(def);
      assert.deepEqual(cols.map((c) => c.name), [...model.map((c) => c.name), 'qr_png']);
      for (const c of model) assert.equal(cols.find((x) => x.name === c.name)!.notnull === 1, c.notNull, c.name);
    } finally {
      await store.close();
    }
  });

  it('$metadata lists every property of the model with its EDM type and nullability', () => {
    const xml = csdl(ENTITIES);
    for (const p of def.properties) {
      if (p.name === 'id') continue;
      const re = new RegExp(`<Property Name="${p.name}" Type="${p.type.replace('.', '\\.')}"${p.nullable ? '' : ' Nullable="false"'}`);
      assert.match(xml, re, p.name);
    }
    assert.match(xml, /<Action Name="createToken" IsBound="true">\s*<Parameter Name="bindingParameter" Type="graph.androidForWorkEnrollmentProfile" \/>\s*<Parameter Name="tokenValidityInSeconds" Type="Edm.Int32" Nullable="false" \/>/);
    assert.match(xml, /<NavigationProperty Name="androidForWorkEnrollmentProfiles" Type="Collection\(graph.androidForWorkEnrollmentProfile\)" ContainsTarget="true" \/>/);
  });
});
