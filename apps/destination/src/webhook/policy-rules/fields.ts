// Loose reading of policy objects for the validator: the API server has checked the CRD schema already, but a
// validator must still survive anything (an older CRD, a direct POST), so every read tolerates the wrong type.
import { normalGroup } from '../../policy/routes.ts';

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A reference's group (core for "" or none) and kind, for comparisons that ignore case as Linkerd's do. */
export interface KindOf {
  readonly group: string;
  readonly kind: string;
}

export function kindOf(ref: Obj, defaultKind = ''): KindOf {
  return { group: normalGroup(str(ref['group'])).toLowerCase(), kind: (str(ref['kind']) ?? defaultKind).toLowerCase() };
}

export const isKind = (k: KindOf, group: string, kind: string) => k.group === group.toLowerCase() && k.kind === kind.toLowerCase();

/** "Deployment.apps", "Namespace": how a message names a kind. */
export function canonicalKind(ref: Obj): string {
  const group = normalGroup(str(ref['group']));
  const kind = str(ref['kind']) ?? '';
  return group === 'core' ? kind : `${kind}.${group}`;
}
