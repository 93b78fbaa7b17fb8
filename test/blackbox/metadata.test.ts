/**
 * `$metadata` against Microsoft's published CSDL (../shared/reference/csdl/android-enterprise-beta.xml):
 * every type the server serves is described exactly as Microsoft describes it — each property's name,
 * type and nullability, each enum's members and values, each complex type, the navigation property
 * that exposes it, and each bound action's parameters and return type.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, ROOT, startServer, type TestServer } from '../helpers.js';

const CSDL_FILE = join(ROOT, '..', 'shared', 'reference', 'csdl', 'android-enterprise-beta.xml');

type Attrs = Record<string, string>;
interface Element {
  name: string;
  attrs: Attrs;
  children: Element[];
}

/** A small parser for CSDL's element structure (no text content, no namespaces that matter). */
function parseXml(text: string): Element {
  const root: Element = { name: '#root', attrs: {}, children: [] };
  const stack = [root];
  const re = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+="[^"]*")*)\s*(\/?)>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>/g;
  for (const m of text.matchAll(re)) {
    if (!m[2]) continue;
    if (m[1]) {
      stack.pop();
      continue;
    }
    const attrs: Attrs = {};
    for (const a of m[3]!.matchAll(/([\w.:-]+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    const el: Element = { name: m[2], attrs, children: [] };
    stack.at(-1)!.children.push(el);
    if (!m[4]) stack.push(el);
  }
  return root;
}

function all(el: Element, name: string): Element[] {
  return [...el.children.filter((c) => c.name === name), ...el.children.flatMap((c) => all(c, name))];
}

const props = (t: Element) => all(t, 'Property').map((p) => `${p.attrs.Name}: ${p.attrs.Type}${p.attrs.Nullable === 'false' ? ' not null' : ''}`).sort();
const params = (a: Element) =>
  all(a, 'Parameter').map((p) => `${p.attrs.Name}: ${p.attrs.Type}${p.attrs.Nullable === 'false' ? ' not null' : ''}`).join(', ');
const returns = (a: Element) => all(a, 'ReturnType')[0]?.attrs.Type ?? null;

describe('$metadata matches Microsoft\'s CSDL', { skip: !existsSync(CSDL_FILE) && 'the shared CSDL file is not there' }, () => {
  let server: TestServer;
  let reference: Element;
  before(async () => {
    server = await startServer();
    reference = parseXml(readFileSync(CSDL_FILE, 'utf8'));
  });
  after(() => server?.dispose());

  const byName = (root: Element, kind: string, name: string) => all(root, kind).find((e) => e.attrs.Name === name);

  for (const version of ['beta', 'v1.0']) {
    it(`${version}: every served entity type, enum, complex type, navigation property and action as the CSDL has it`, async () => {
      const res = await call(server.url, 'GET', `/${version}/$metadata`);
      assert.equal(res.status, 200);
      const served = parseXml(res.text);
      const entities = all(served, 'EntityType').filter((t) => t.attrs.Name !== 'entity' && t.attrs.Name !== 'deviceManagement');
      assert.ok(entities.length > 0);
      for (const t of entities) {
        const ref = byName(reference, 'EntityType', t.attrs.Name!);
        assert.ok(ref, `${t.attrs.Name} is in the CSDL`);
        assert.equal(t.attrs.BaseType, ref.attrs.BaseType, `${t.attrs.Name}: base type`);
        assert.deepEqual(props(t), props(ref), `${t.attrs.Name}: properties`);
        assert.doesNotMatch(res.text, /MaxLength=/, 'no facets the CSDL does not have');
      }
      for (const kind of ['EnumType', 'ComplexType']) {
        for (const t of all(served, kind)) {
          const ref = byName(reference, kind, t.attrs.Name!);
          assert.ok(ref, `${kind} ${t.attrs.Name} is in the CSDL`);
          if (kind === 'EnumType') {
            const members = (e: Element) => all(e, 'Member').map((m) => `${m.attrs.Name}=${m.attrs.Value}`);
            assert.deepEqual(members(t), members(ref), `${t.attrs.Name}: members`);
          } else {
            assert.deepEqual(props(t), props(ref), `${t.attrs.Name}: properties`);
          }
        }
      }
      // Every enum and complex type a served property uses is described.
      for (const t of entities) {
        for (const p of all(t, 'Property')) {
          const type = p.attrs.Type!.replace(/^Collection\((.*)\)$/, '$1');
          if (!type.startsWith('graph.')) continue;
          assert.ok(all(served, 'EnumType').concat(all(served, 'ComplexType')).some((e) => `graph.${e.attrs.Name}` === type), `${type} is described`);
        }
      }
      const nav = all(byName(served, 'EntityType', 'deviceManagement')!, 'NavigationProperty');
      const refNav = all(byName(reference, 'EntityType', 'deviceManagement')!, 'NavigationProperty');
      assert.deepEqual(nav.map((n) => n.attrs.Type).sort(), entities.map((t) => refNav.find((r) => r.attrs.Type?.replace(/^Collection\((.*)\)$/, '$1') === `graph.${t.attrs.Name}`)?.attrs.Type).sort());
      for (const n of nav) assert.deepEqual(n.attrs, refNav.find((r) => r.attrs.Name === n.attrs.Name)?.attrs, `navigation property ${n.attrs.Name}`);
      for (const a of all(served, 'Action')) {
        const binding = all(a, 'Parameter')[0]!.attrs.Type;
        const ref = all(reference, 'Action').find((r) => r.attrs.Name === a.attrs.Name && all(r, 'Parameter')[0]?.attrs.Type === binding);
        assert.ok(ref, `action ${a.attrs.Name} bound to ${binding} is in the CSDL`);
        assert.equal(params(a), params(ref), `${a.attrs.Name} on ${binding}: parameters`);
        assert.equal(returns(a), returns(ref), `${a.attrs.Name} on ${binding}: return type`);
      }
    });
  }
});
