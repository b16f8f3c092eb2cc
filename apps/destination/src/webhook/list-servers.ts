// The Servers of a namespace as the API server has them now, for the policy-validator's overlap check (the
// index may lag behind a Server created a moment ago).
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { CustomObject } from '../index/model.ts';
import type { ListServers } from './policy-rules/server.ts';

export function apiServerServers(kc: KubeConfig): ListServers {
  const api = kc.makeApiClient(CustomObjectsApi);
  return async (namespace) => {
    const list = (await api.listNamespacedCustomObject({ group: 'policy.linkerd.io', version: 'v1beta3', namespace, plural: 'servers' })) as { items?: CustomObject[] };
    return list.items ?? [];
  };
}
