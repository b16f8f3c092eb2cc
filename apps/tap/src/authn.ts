// Who is asking, as the aggregation layer tells us: kube-apiserver authenticates the user, then calls us with its
// front-proxy client certificate and the user in request headers (X-Remote-User, X-Remote-Group,
// X-Remote-Extra-*). The headers are trusted only on a connection whose certificate chains to the request-header
// CA and, when the cluster lists allowed names, has one of them as its CN. The CA and header names come from
// kube-system/extension-apiserver-authentication, as every aggregated API server reads them.
import type { TLSSocket } from 'node:tls';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { TapApiError } from './errors.ts';

export interface RequestHeaderConfig {
  /** PEM of the CA that signs the front proxy's client certificate. */
  readonly clientCa: string;
  readonly allowedNames: readonly string[];
  readonly usernameHeaders: readonly string[];
  readonly groupHeaders: readonly string[];
  readonly extraHeaderPrefixes: readonly string[];
}

export interface TapUser {
  readonly user: string;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, string[]>>;
}

const list = (v: string | undefined, fallback: readonly string[]): readonly string[] => {
  if (!v) return fallback;
  const parsed = JSON.parse(v) as unknown;
  return Array.isArray(parsed) ? parsed.map(String) : fallback;
};

/** Reads the request-header settings the API server publishes; fails naming what is missing. */
export async function loadRequestHeaderConfig(kc: KubeConfig): Promise<RequestHeaderConfig> {
  const cm = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: 'kube-system', name: 'extension-apiserver-authentication' });
  const d = cm.data ?? {};
  const clientCa = d['requestheader-client-ca-file'];
  if (!clientCa) {
    throw new TapApiError(500, 'InternalError', 'kube-system/extension-apiserver-authentication has no requestheader-client-ca-file: the API server was started without --requestheader-client-ca-file, so it cannot call aggregated APIs');
  }
  return {
    clientCa,
    allowedNames: list(d['requestheader-allowed-names'], []),
    usernameHeaders: list(d['requestheader-username-headers'], ['X-Remote-User']),
    groupHeaders: list(d['requestheader-group-headers'], ['X-Remote-Group']),
    extraHeaderPrefixes: list(d['requestheader-extra-headers-prefix'], ['X-Remote-Extra-']),
  };
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;
const values = (h: Headers, name: string): string[] => {
  const v = h[name.toLowerCase()];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
};

/** The user of a request from the front proxy; 401 for anyone else. */
export function authenticate(socket: TLSSocket, headers: Headers, cfg: RequestHeaderConfig): TapUser {
  if (!socket.authorized) throw new TapApiError(401, 'Unauthorized', 'the tap API is served through the Kubernetes API server (kubectl, trellis viz tap); no valid front-proxy client certificate was presented');
  const cn = socket.getPeerCertificate().subject?.CN;
  const cnText = Array.isArray(cn) ? cn.join(',') : (cn ?? '');
  if (cfg.allowedNames.length > 0 && !cfg.allowedNames.includes(cnText)) throw new TapApiError(401, 'Unauthorized', `client certificate CN "${cnText}" is not an allowed request-header name`);
  const user = cfg.usernameHeaders.flatMap((n) => values(headers, n))[0];
  if (!user) throw new TapApiError(401, 'Unauthorized', 'the request names no user');
  const groups = cfg.groupHeaders.flatMap((n) => values(headers, n));
  const extra: Record<string, string[]> = {};
  for (const [name, v] of Object.entries(headers)) {
    for (const prefix of cfg.extraHeaderPrefixes) {
      if (v !== undefined && name.startsWith(prefix.toLowerCase())) {
        const key = decodeURIComponent(name.slice(prefix.length));
        (extra[key] ??= []).push(...(Array.isArray(v) ? v : [v]));
      }
    }
  }
  return { user, groups, extra };
}
