// Rendered manifests as objects: split, find by kind and name, and pull out the parts tests compare.
import { parseAllDocuments } from 'yaml';

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [k: string]: unknown };
  readonly [k: string]: unknown;
}

export function parseManifests(text: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]?.message}`);
    const obj = doc.toJS() as KubeObject | null;
    if (obj !== null) out.push(obj);
  }
  return out;
}

export function find(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} among ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

export function ofKind(objects: readonly KubeObject[], kind: string): KubeObject[] {
  return objects.filter((x) => x.kind === kind);
}

/** `kind/name` of every object, for messages and set comparisons. */
export function names(objects: readonly KubeObject[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.name}`);
}

/** The pod template of a Deployment. */
export function podTemplate(deployment: KubeObject): Record<string, unknown> {
  const spec = deployment['spec'] as { template?: Record<string, unknown> } | undefined;
  if (!spec?.template) throw new Error(`${deployment.kind}/${deployment.metadata.name} has no pod template`);
  return spec.template;
}

/** CRDs first, then everything else in the order rendered: the order `kubectl apply` needs. */
export function crdsFirst(objects: readonly KubeObject[]): KubeObject[] {
  return [...objects.filter((o) => o.kind === 'CustomResourceDefinition'), ...objects.filter((o) => o.kind !== 'CustomResourceDefinition')];
}
