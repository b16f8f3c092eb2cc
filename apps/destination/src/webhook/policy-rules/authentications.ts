// MeshTLSAuthentication, NetworkAuthentication and the older ServerAuthorization: every identity must be one a
// proxy can present, every network must parse, and an `except` must cut a part out of its network (not all of
// it, nothing outside it). The networks are read with the function the index uses, so what is admitted is
// what the index can serve.
import { network } from '../../policy/authz.ts';
import { networkContains } from '../../policy/networks.ts';
import { canonicalKind, isKind, isObj, kindOf, str, type Obj } from './fields.ts';
import { identityProblem } from './identity.ts';

export function meshTLSAuthenticationProblem(spec: Obj): string | undefined {
  const ids = spec['identities'];
  const refs = spec['identityRefs'];
  const none = (v: unknown) => v === undefined || (Array.isArray(v) && v.length === 0);
  if (none(ids) && none(refs)) return 'spec: a MeshTLSAuthentication needs spec.identities or spec.identityRefs, and not an empty list: otherwise it matches no client';
  if (ids !== undefined && !Array.isArray(ids)) return 'spec.identities must be a list';
  if (refs !== undefined && !Array.isArray(refs)) return 'spec.identityRefs must be a list';
  for (const [i, id] of (ids ?? []).entries()) {
    if (typeof id !== 'string') return `spec.identities[${i}] must be a string`;
    const why = identityProblem(id);
    if (why) return `spec.identities[${i}]: ${JSON.stringify(id)} is not a valid identity: ${why}`;
  }
  for (const [i, r] of (refs ?? []).entries()) {
    const where = `spec.identityRefs[${i}]`;
    if (!isObj(r)) return `${where} must be an object with kind and name`;
    const k = kindOf(r);
    if (isKind(k, 'core', 'ServiceAccount')) {
      if (!str(r['name'])) return `${where}.name is required: the ServiceAccount whose identity is allowed`;
    } else if (isKind(k, 'core', 'Namespace')) {
      if (r['namespace'] !== undefined) return `${where}.namespace: a Namespace is cluster-scoped and takes no namespace`;
      if (!str(r['name'])) return `${where}.name is required: the Namespace whose service accounts are allowed`;
    } else {
      return `${where}: kind ${canonicalKind(r)} names no identities; use ServiceAccount or Namespace`;
    }
  }
  return undefined;
}

/** One `{cidr, except}` entry at `where`. */
export function networkProblem(n: unknown, where: string): string | undefined {
  if (!isObj(n)) return `${where} must be an object with a cidr`;
  const cidr = n['cidr'];
  if (typeof cidr !== 'string' || cidr === '') return `${where}.cidr is required`;
  let outer;
  try {
    outer = network(cidr);
  } catch (err) {
    return `${where}.cidr: ${JSON.stringify(cidr)} is not a network such as 10.0.0.0/8 or an address (${(err as Error).message})`;
  }
  const except = n['except'];
  if (except !== undefined && !Array.isArray(except)) return `${where}.except must be a list`;
  for (const [j, e] of (except ?? []).entries()) {
    const at = `${where}.except[${j}]`;
    if (typeof e !== 'string') return `${at} must be a string`;
    let inner;
    try {
      inner = network(e);
    } catch (err) {
      return `${at}: ${JSON.stringify(e)} is not a network such as 10.0.0.0/8 or an address (${(err as Error).message})`;
    }
    if (networkContains(inner, outer)) return `${at}: ${JSON.stringify(e)} covers all of cidr ${JSON.stringify(cidr)}, so the network authenticates nothing`;
    if (!networkContains(outer, inner)) return `${at}: ${JSON.stringify(e)} is not inside cidr ${JSON.stringify(cidr)}`;
  }
  return undefined;
}

function networksProblem(nets: unknown, where: string): string | undefined {
  if (!Array.isArray(nets)) return `${where} must be a list`;
  for (const [i, n] of nets.entries()) {
    const why = networkProblem(n, `${where}[${i}]`);
    if (why) return why;
  }
  return undefined;
}

export function networkAuthenticationProblem(spec: Obj): string | undefined {
  const nets = spec['networks'];
  if (nets === undefined || (Array.isArray(nets) && nets.length === 0)) return 'spec.networks: at least one network must be specified';
  return networksProblem(nets, 'spec.networks');
}

export function serverAuthorizationProblem(spec: Obj): string | undefined {
  if (!isObj(spec['server'])) return 'spec.server is required: a name or a selector of Servers';
  const client = spec['client'];
  if (!isObj(client)) return 'spec.client is required';
  const mtls = client['meshTLS'];
  if (mtls !== undefined) {
    if (!isObj(mtls)) return 'spec.client.meshTLS must be an object';
    if (client['unauthenticated'] === true) return 'spec.client.unauthenticated must be false when spec.client.meshTLS is set';
    const named = (v: unknown) => (Array.isArray(v) ? v.length : 0);
    if (mtls['unauthenticatedTLS'] === true && named(mtls['identities']) + named(mtls['serviceAccounts']) > 0) {
      return 'spec.client.meshTLS.unauthenticatedTLS must be false when identities or serviceAccounts are set';
    }
  }
  return client['networks'] === undefined ? undefined : networksProblem(client['networks'], 'spec.client.networks');
}
