// Reads a pod, its namespace's annotations and (for control-plane pods) the API server's ports. Failures become
// CNI errors: an API server that cannot be reached or is overloaded is "try again later" (the kubelet retries
// the sandbox), a refusal or a missing pod names the answer.
import type { ApiGet } from '../kube/client.ts';
import { ApiUnreachableError } from '../kube/client.ts';
import { CNI_ERR, CniError } from '../cni/errors.ts';
import type { PodView } from './meshed.ts';

async function getObject(get: ApiGet, path: string, what: string): Promise<Record<string, unknown>> {
  let answer;
  try {
    answer = await get(path);
  } catch (err) {
    if (err instanceof ApiUnreachableError) throw new CniError(CNI_ERR.tryAgainLater, `cannot read ${what} from the API server: ${err.message}`);
    throw err;
  }
  const body = answer.body;
  const reason = typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string' ? (body as { message: string }).message : String(body).slice(0, 200);
  if (answer.status === 200 && typeof body === 'object' && body !== null) return body as Record<string, unknown>;
  if (answer.status === 429 || answer.status >= 500) throw new CniError(CNI_ERR.tryAgainLater, `the API server answered ${answer.status} for ${what}: ${reason}`);
  throw new CniError(CNI_ERR.podLookup, `the API server answered ${answer.status} for ${what}: ${reason}`);
}

export const getPod = async (get: ApiGet, namespace: string, name: string): Promise<PodView> =>
  (await getObject(get, `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`, `pod ${namespace}/${name}`)) as PodView;

export async function getNamespaceAnnotations(get: ApiGet, namespace: string): Promise<Record<string, string>> {
  const ns = await getObject(get, `/api/v1/namespaces/${encodeURIComponent(namespace)}`, `namespace ${namespace}`);
  const annotations = (ns['metadata'] as { annotations?: Record<string, string> } | undefined)?.annotations;
  return annotations ?? {};
}

// Linkerd's fallback when the `kubernetes` Service cannot be read.
export const DEFAULT_API_SERVER_PORTS = ['443', '6443'];

export async function getApiServerPorts(get: ApiGet): Promise<string[]> {
  try {
    const svc = await getObject(get, '/api/v1/namespaces/default/services/kubernetes', 'service default/kubernetes');
    const ports = ((svc['spec'] as { ports?: { port?: number; targetPort?: number | string }[] } | undefined)?.ports ?? []).flatMap((p) => [
      ...(typeof p.port === 'number' ? [String(p.port)] : []),
      ...(typeof p.targetPort === 'number' ? [String(p.targetPort)] : []),
    ]);
    return ports.length > 0 ? ports : DEFAULT_API_SERVER_PORTS;
  } catch (err) {
    if (err instanceof CniError) return DEFAULT_API_SERVER_PORTS;
    throw err;
  }
}
