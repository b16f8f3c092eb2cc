// Server: exactly one selector, a port that can name a container port, a known protocol and access policy, and
// no other Server in the namespace already claiming the same port on pods this one would select (the index
// would then apply one of the two at random, as Linkerd's would). The other Servers are listed from the API
// server, not from the index, which may lag behind it.
import { DEFAULT_POLICIES } from '../../config.ts';
import { labelSelector, type CustomObject, type LabelSelector } from '../../index/model.ts';
import { isObj, str, type Obj } from './fields.ts';

const PROTOCOLS = ['unknown', 'HTTP/1', 'HTTP/2', 'gRPC', 'opaque', 'TLS'];
// A container port name (IANA_SVC_NAME): at most 15 lower-case letters, digits and '-', with a letter.
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** Lists the Servers of a namespace (as stored by the API server). */
export type ListServers = (namespace: string) => Promise<readonly CustomObject[]>;

function selectorProblem(sel: unknown, where: string): string | undefined {
  if (!isObj(sel)) return `${where} must be a label selector`;
  const labels = sel['matchLabels'];
  if (labels !== undefined && (!isObj(labels) || Object.values(labels).some((v) => typeof v !== 'string'))) return `${where}.matchLabels must map label names to strings`;
  const exprs = sel['matchExpressions'];
  if (exprs === undefined) return undefined;
  if (!Array.isArray(exprs)) return `${where}.matchExpressions must be a list`;
  for (const [i, e] of exprs.entries()) {
    const at = `${where}.matchExpressions[${i}]`;
    if (!isObj(e) || !str(e['key'])) return `${at}.key is required`;
    const op = str(e['operator']) ?? '';
    if (!OPERATORS.includes(op)) return `${at}.operator: ${JSON.stringify(op)} is not one of ${OPERATORS.join(', ')}`;
    const values = Array.isArray(e['values']) ? e['values'] : [];
    if ((op === 'In' || op === 'NotIn') && values.length === 0) return `${at}.values: operator ${op} needs at least one value`;
    if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) return `${at}.values: operator ${op} takes no values`;
  }
  return undefined;
}

function portProblem(port: unknown): string | undefined {
  if (port === undefined) return 'spec.port is required: a port number or the name of a container port';
  if (typeof port === 'number') return Number.isInteger(port) && port >= 1 && port <= 65535 ? undefined : `spec.port: ${port} is not a port (1-65535)`;
  if (typeof port === 'string' && port.length <= 15 && PORT_NAME.test(port) && /[a-z]/.test(port)) return undefined;
  return `spec.port: ${JSON.stringify(port)} is neither a port number nor a container port name`;
}

/** The spec checks that need nothing but the object. */
export function serverSpecProblem(spec: Obj): string | undefined {
  const pod = spec['podSelector'];
  const ext = spec['externalWorkloadSelector'];
  if (pod === undefined && ext === undefined) return 'spec.podSelector is required (or spec.externalWorkloadSelector): a Server must say which workloads it applies to; {} selects every pod of the namespace';
  if (pod !== undefined && ext !== undefined) return 'spec.podSelector and spec.externalWorkloadSelector are both set: a Server selects pods or external workloads, not both';
  const sel = pod !== undefined ? selectorProblem(pod, 'spec.podSelector') : selectorProblem(ext, 'spec.externalWorkloadSelector');
  if (sel) return sel;
  const port = portProblem(spec['port']);
  if (port) return port;
  const protocol = spec['proxyProtocol'];
  if (protocol !== undefined && !PROTOCOLS.includes(protocol as string)) return `spec.proxyProtocol: ${JSON.stringify(protocol)} is not one of ${PROTOCOLS.join(', ')}`;
  const access = spec['accessPolicy'];
  if (access !== undefined && !(DEFAULT_POLICIES as readonly unknown[]).includes(access)) return `spec.accessPolicy: ${JSON.stringify(access)} is not one of ${DEFAULT_POLICIES.join(', ')}`;
  return undefined;
}

const selectsAll = (s: LabelSelector) => Object.keys(s.matchLabels).length === 0 && s.matchExpressions.length === 0;
const canonical = (s: LabelSelector) => JSON.stringify([Object.entries(s.matchLabels).sort(), s.matchExpressions.map((e) => [e.key, e.operator, [...e.values].sort()]).sort()]);

/** Whether two selectors of the same kind can select one workload: only the sure cases (all, or the same), as Linkerd. */
function overlaps(a: Obj, b: Obj): boolean {
  for (const field of ['podSelector', 'externalWorkloadSelector']) {
    if (!isObj(a[field]) || !isObj(b[field])) continue;
    const x = labelSelector(a[field]);
    const y = labelSelector(b[field]);
    return selectsAll(x) || selectsAll(y) || canonical(x) === canonical(y);
  }
  return false;
}

export async function serverProblem(spec: Obj, namespace: string, name: string, listServers: ListServers): Promise<string | undefined> {
  const own = serverSpecProblem(spec);
  if (own) return own;
  for (const other of await listServers(namespace)) {
    const otherName = other.metadata?.name ?? '';
    const o = isObj(other.spec) ? other.spec : {};
    if (otherName === name || String(o['port']) !== String(spec['port']) || !overlaps(o, spec)) continue;
    const field = spec['podSelector'] !== undefined ? 'spec.podSelector' : 'spec.externalWorkloadSelector';
    return `${field}: Server ${namespace}/${otherName} already defines a policy for port ${String(spec['port'])} on the workloads this Server selects; change the selector or the port, or edit that Server`;
  }
  return undefined;
}
