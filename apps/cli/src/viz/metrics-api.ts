// Reaching the viz extension's metrics API (HTTP/JSON, apps/metrics-api): through the API server's service proxy
// (`services/metrics-api:http/proxy/...`, which works wherever kubectl does, since the chart's policy admits the API
// server by default: metricsAPI.allowedNetworks), else through a port-forward to a metrics-api pod (Linkerd's way: the
// connection starts inside the pod, so its proxy's policy does not apply), or at a URL given on the command line.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { TrellisError } from '@trellis/config';
import { forwardPort } from '../cluster/port-forward.ts';
import { VIZ_NAMESPACE } from '../install/render.ts';

export const METRICS_API_SERVICE = 'metrics-api';
const METRICS_API_PORT = 8085;

/** The metrics API answered with an error of its own (bad parameter, Prometheus away): the message is for the user. */
export class MetricsApiError extends TrellisError {
  readonly status: number;
  constructor(status: number, message: string) {
    super('TRELLIS_ERR_METRICS_API', message);
    this.status = status;
  }
}

export interface MetricsApi {
  /** How it is reached, for messages. */
  readonly via: string;
  get<T>(path: string, query: Readonly<Record<string, string | undefined>>): Promise<T>;
  close(): Promise<void>;
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

function send(url: URL, opts: RequestOptions & { headers: Record<string, string> }, timeoutMs: number): Promise<Answer> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { ...opts, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

const withQuery = (path: string, query: Readonly<Record<string, string | undefined>>) => {
  const q = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  return `${path}${q.size ? `?${q}` : ''}`;
};

/** The metrics API's JSON, or its own error; anything else (a proxy's 403, no endpoints) is a transport failure. */
function decode<T>(a: Answer, via: string): T {
  let json: unknown;
  try {
    json = JSON.parse(a.body);
  } catch {
    throw new Error(`${via} answered ${a.status}: ${a.body.trim().split('\n')[0]?.slice(0, 200) ?? ''}`);
  }
  const err = (json as { error?: { code?: string; message?: string } }).error;
  if (a.status === 200 && !err) return json as T;
  if (err?.code?.startsWith('TRELLIS_ERR_')) throw new MetricsApiError(a.status, `the metrics API answered ${a.status}: ${err.message ?? err.code}`);
  throw new Error(`${via} answered ${a.status}: ${a.body.trim().slice(0, 200)}`);
}

function direct(base: string): MetricsApi {
  const via = base;
  return {
    via,
    async get<T>(path: string, query: Readonly<Record<string, string | undefined>>) {
      return decode<T>(await send(new URL(withQuery(path, query), base), { method: 'GET', headers: { accept: 'application/json' } }, 30_000), via);
    },
    close: async () => undefined,
  };
}

function serviceProxy(kc: KubeConfig): MetricsApi {
  const server = kc.getCurrentCluster()?.server?.replace(/\/$/, '') ?? '';
  const via = `the API server's service proxy to ${VIZ_NAMESPACE}/${METRICS_API_SERVICE}`;
  return {
    via,
    async get<T>(path: string, query: Readonly<Record<string, string | undefined>>) {
      const url = new URL(`${server}/api/v1/namespaces/${VIZ_NAMESPACE}/services/${METRICS_API_SERVICE}:http/proxy${withQuery(path, query)}`);
      const opts: RequestOptions & { headers: Record<string, string> } = { method: 'GET', headers: { accept: 'application/json' } };
      await kc.applyToHTTPSOptions(opts);
      return decode<T>(await send(url, opts, 30_000), via);
    },
    close: async () => undefined,
  };
}

async function portForwarded(kc: KubeConfig): Promise<MetricsApi> {
  const pods = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: VIZ_NAMESPACE, labelSelector: 'linkerd.io/extension=viz,component=metrics-api' })).items;
  const pod = pods.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
  if (!pod) throw new Error(`no running metrics-api pod in ${VIZ_NAMESPACE}`);
  const name = pod.metadata?.name ?? '';
  const fwd = await forwardPort(kc, VIZ_NAMESPACE, name, METRICS_API_PORT);
  const api = direct(`http://${fwd.address}`);
  const via = `a port-forward to ${VIZ_NAMESPACE}/${name}:${METRICS_API_PORT}`;
  return {
    via,
    async get<T>(path: string, query: Readonly<Record<string, string | undefined>>) {
      try {
        return await api.get<T>(path, query);
      } catch (err) {
        if (err instanceof MetricsApiError) throw err;
        throw new Error(fwd.lastError() ?? `${via}: ${(err as Error).message}`);
      }
    },
    close: fwd.close,
  };
}

export type Reach<T> = { readonly api: MetricsApi; readonly result: T } | { readonly absent: string };

/**
 * `call` answered by the metrics API, with the way that reached it; or why it is not there: not installed (no
 * Service), or neither the service proxy nor a port-forward reached it (both reasons given). An error of the
 * metrics API's own (a bad parameter, Prometheus away) is thrown.
 */
export async function reachMetricsApi<T>(kc: KubeConfig, url: string | undefined, call: (api: MetricsApi) => Promise<T>): Promise<Reach<T>> {
  if (url) {
    const api = direct(url);
    return { api, result: await call(api) };
  }
  try {
    await kc.makeApiClient(CoreV1Api).readNamespacedService({ name: METRICS_API_SERVICE, namespace: VIZ_NAMESPACE });
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === 404) return { absent: `viz is not installed (no Service ${VIZ_NAMESPACE}/${METRICS_API_SERVICE})` };
    // A user who may not see the extension's namespace can still read the proxies of their own.
    if (code === 403) return { absent: `this user may not read Service ${VIZ_NAMESPACE}/${METRICS_API_SERVICE}` };
    throw err;
  }
  const reasons: string[] = [];
  for (const open of [async () => serviceProxy(kc), () => portForwarded(kc)]) {
    let api: MetricsApi | undefined;
    try {
      api = await open();
      return { api, result: await call(api) };
    } catch (err) {
      await api?.close();
      if (err instanceof MetricsApiError) throw err;
      reasons.push((err as Error).message);
    }
  }
  return { absent: `the metrics API did not answer (${reasons.join('; ')})` };
}
