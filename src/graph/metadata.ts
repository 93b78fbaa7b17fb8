import { mimeContent } from '../model/androidForWorkEnrollmentProfile.js';
import { NAMESPACE, type EntityDef } from '../model/edm.js';
import type { ApiVersion } from './path.js';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function description(text: string): string {
  return `<Annotation Term="Org.OData.Core.V1.Description" String="${esc(text)}" />`;
}

/**
 * CSDL of exactly what the server serves, generated from the entity definitions: the abstract
 * `entity`, each entity type, `mimeContent`, the `deviceManagement` singleton with its collections,
 * and the bound actions.
 */
export function csdl(entities: readonly EntityDef[]): string {
  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="utf-8"?>');
  out.push('<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">');
  out.push('<edmx:DataServices>');
  out.push(`<Schema Namespace="${NAMESPACE}" Alias="graph" xmlns="http://docs.oasis-open.org/odata/ns/edm">`);
  out.push('<EntityType Name="entity" Abstract="true"><Key><PropertyRef Name="id" /></Key><Property Name="id" Type="Edm.String" Nullable="false" /></EntityType>');
  for (const e of entities) {
    out.push(`<EntityType Name="${e.typeName}" BaseType="graph.entity">`);
    for (const p of e.properties) {
      if (p.name === 'id') continue;
      const nullable = p.nullable ? '' : ' Nullable="false"';
      const max = p.maxLength !== undefined ? ` MaxLength="${p.maxLength}"` : '';
      out.push(`<Property Name="${p.name}" Type="${p.type}"${nullable}${max}>${description(p.description)}</Property>`);
    }
    out.push(description(e.description));
    out.push('</EntityType>');
  }
  out.push(`<ComplexType Name="${mimeContent.name}">`);
  for (const p of mimeContent.properties) out.push(`<Property Name="${p.name}" Type="${p.type}">${description(p.description)}</Property>`);
  out.push('</ComplexType>');
  out.push('<EntityType Name="deviceManagement" BaseType="graph.entity">');
  for (const e of entities) {
    out.push(`<NavigationProperty Name="${e.setName}" Type="Collection(graph.${e.typeName})" ContainsTarget="true" />`);
  }
  out.push('</EntityType>');
  for (const e of entities) {
    for (const a of e.actions) {
      out.push(`<Action Name="${a.name}" IsBound="true">`);
      out.push(`<Parameter Name="bindingParameter" Type="graph.${e.typeName}" />`);
      for (const p of a.parameters) out.push(`<Parameter Name="${p.name}" Type="${p.type}"${p.nullable ? '' : ' Nullable="false"'} />`);
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
