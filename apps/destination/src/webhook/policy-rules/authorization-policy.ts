// AuthorizationPolicy: its target must be something an authorization can attach to, and its authentications
// must be ones the index can combine (at most one source of identities, at most one set of networks). An empty
// list is refused: Linkerd reads it as "every client from anywhere", which nobody writing a policy means by
// leaving the list empty.
import { canonicalKind, isKind, isObj, kindOf, str, type Obj } from './fields.ts';

const POLICY = 'policy.linkerd.io';
const GATEWAY = 'gateway.networking.k8s.io';

function targetProblem(t: unknown, namespace: string): string | undefined {
  if (!isObj(t)) return 'spec.targetRef is required';
  const k = kindOf(t);
  if (isKind(k, POLICY, 'Server') || isKind(k, POLICY, 'HTTPRoute') || isKind(k, GATEWAY, 'HTTPRoute') || isKind(k, GATEWAY, 'GRPCRoute')) return undefined;
  if (isKind(k, 'core', 'Namespace')) {
    const name = str(t['name']) ?? '';
    return name === namespace ? undefined : `spec.targetRef: an AuthorizationPolicy cannot target another namespace (${JSON.stringify(name)}); it applies to its own, ${JSON.stringify(namespace)}`;
  }
  return `spec.targetRef: kind ${canonicalKind(t)} cannot be authorized; target a Server, an HTTPRoute, a GRPCRoute or the policy's own Namespace`;
}

export function authorizationPolicyProblem(spec: Obj, namespace: string): string | undefined {
  const target = targetProblem(spec['targetRef'], namespace);
  if (target) return target;
  const refs = spec['requiredAuthenticationRefs'];
  const allClients = 'to admit every client, reference a NetworkAuthentication of 0.0.0.0/0 and ::/0';
  if (refs === undefined) return `spec.requiredAuthenticationRefs is required: name the MeshTLSAuthentication, NetworkAuthentication or ServiceAccount a client must satisfy (${allClients})`;
  if (!Array.isArray(refs)) return 'spec.requiredAuthenticationRefs must be a list';
  if (refs.length === 0) return `spec.requiredAuthenticationRefs is empty, so this policy would authorize nobody: name at least one MeshTLSAuthentication, NetworkAuthentication or ServiceAccount (${allClients})`;
  let meshTLS = 0;
  let serviceAccounts = 0;
  let networks = 0;
  for (const [i, r] of refs.entries()) {
    const where = `spec.requiredAuthenticationRefs[${i}]`;
    if (!isObj(r)) return `${where} must be an object with kind and name`;
    if (!str(r['name'])) return `${where}.name is required`;
    const k = kindOf(r);
    if (isKind(k, POLICY, 'MeshTLSAuthentication')) meshTLS++;
    else if (isKind(k, POLICY, 'NetworkAuthentication')) networks++;
    else if (isKind(k, 'core', 'ServiceAccount')) serviceAccounts++;
    else return `${where}: kind ${canonicalKind(r)} is not an authentication; use MeshTLSAuthentication, NetworkAuthentication (group ${POLICY}) or ServiceAccount`;
  }
  if (meshTLS > 1) return 'spec.requiredAuthenticationRefs: only one MeshTLSAuthentication may be set';
  if (serviceAccounts > 1) return 'spec.requiredAuthenticationRefs: only one ServiceAccount may be set (a MeshTLSAuthentication can list several)';
  if (meshTLS + serviceAccounts > 1) return 'spec.requiredAuthenticationRefs: a MeshTLSAuthentication and a ServiceAccount may not be set together';
  if (networks > 1) return 'spec.requiredAuthenticationRefs: only one NetworkAuthentication may be set';
  return undefined;
}
