import { NAMESPACE, type ApiVersion, type ComplexTypeDef, type EntityDef, type EnumTypeDef } from '../model/edm.js';

function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const nullable = (n: boolean) => (n ? '' : ' Nullable="false"');

/**
 * CSDL of exactly what a version serves, from the model: the enum and complex types its entities
 * use, each entity type (properties with Microsoft's types and nullability, nothing more: length
 * limits are validation rules, not facets), the `deviceManagement` singleton's navigation
 * properties, and the bound actions.
 */
export function csdl(entities: readonly EntityDef[], version: ApiVersion): string {
  const served = entities.filter((e) => e.versions.includes(version));
  const enums = new Map<string, EnumTypeDef>();
  const complexes = new Map<string, ComplexTypeDef>();
  const addComplex = (c: ComplexTypeDef): void => {
    complexes.set(c.name, c);
    for (const p of c.properties) if (p.complex) addComplex(p.complex);
  };
  for (const e of served) {
    for (const p of [...e.properties, ...e.actions.flatMap((a) => a.parameters)]) {
      if (p.enum) enums.set(p.enum.name, p.enum);
      if ('complex' in p && p.complex) addComplex(p.complex);
    }
  }
  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="utf-8"?>');
  out.push('<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">');
  out.push('<edmx:DataServices>');
  out.push(`<Schema Namespace="${NAMESPACE}" Alias="graph" xmlns="http://docs.oasis-open.org/odata/ns/edm">`);
  for (const en of [...enums.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    out.push(`<EnumType Name="${en.name}">`);
    for (const [m, v] of en.members) out.push(`<Member Name="${attr(m)}" Value="${v}" />`);
    out.push('</EnumType>');
  }
  for (const c of [...complexes.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    out.push(`<ComplexType Name="${c.name}">`);
    for (const p of c.properties) out.push(`<Property Name="${p.name}" Type="${p.type}"${nullable(p.nullable ?? true)} />`);
    out.push('</ComplexType>');
  }
  out.push('<EntityType Name="entity" Abstract="true"><Key><PropertyRef Name="id" /></Key><Property Name="id" Type="Edm.String" Nullable="false" /></EntityType>');
  for (const e of served) {
    out.push(`<EntityType Name="${e.typeName}" BaseType="graph.entity">`);
    for (const p of e.properties) if (p.name !== 'id') out.push(`<Property Name="${p.name}" Type="${p.type}"${nullable(p.nullable)} />`);
    out.push('</EntityType>');
  }
  out.push('<EntityType Name="deviceManagement" BaseType="graph.entity">');
  for (const e of served) {
    const type = e.exposed === 'collection' ? `Collection(graph.${e.typeName})` : `graph.${e.typeName}`;
    out.push(`<NavigationProperty Name="${e.setName}" Type="${type}" ContainsTarget="true" />`);
  }
  out.push('</EntityType>');
  for (const e of served) {
    for (const a of e.actions) {
      out.push(`<Action Name="${a.name}" IsBound="true">`);
      out.push(`<Parameter Name="bindingParameter" Type="graph.${e.typeName}" />`);
      for (const p of a.parameters) out.push(`<Parameter Name="${p.name}" Type="${p.type}"${nullable(p.nullable)} />`);
      if (a.returns) out.push(`<ReturnType Type="${a.returns}" />`);
      out.push('</Action>');
    }
  }
  out.push('<EntityContainer Name="GraphService">');
  out.push('<Singleton Name="deviceManagement" Type="graph.deviceManagement" />');
  out.push('</EntityContainer>');
  out.push('</Schema>');
  out.push('</edmx:DataServices>');
  out.push('</edmx:Edmx>');
  return out.join('\n');
}

/** The OData service document of a version. */
export function serviceDocument(base: string, version: ApiVersion): Record<string, unknown> {
  return {
    '@odata.context': `${base}/${version}/$metadata`,
    value: [{ name: 'deviceManagement', kind: 'Singleton', url: 'deviceManagement' }],
  };
}
