// Loading a Kubernetes client configuration: an explicit kubeconfig file, else in-cluster service account,
// else the usual defaults ($KUBECONFIG, ~/.kube/config).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { TrellisError } from '@trellis/config';

export class KubeConfigError extends TrellisError {
  constructor(message: string, cause?: unknown) {
    super('TRELLIS_ERR_KUBECONFIG', message, { cause });
  }
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];
type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/**
 * A KubeConfig whose requests share one connection pool. The client library builds a new undici Agent for
 * every request, so each API call pays a fresh TLS handshake (client certificate included) and leaves an
 * idle keep-alive connection behind; at tens of writes per second that handshake load dominates the API
 * server's CPU. The pool is replaced when the TLS material (CA, client certificate, key) changes on disk.
 */
export class PooledKubeConfig extends KubeConfig {
  private pool: { readonly key: string; readonly dispatcher: Dispatcher } | undefined;
  /** Acts as this user and group (kubectl's --as, --as-group) on every request. */
  impersonation: Impersonation | undefined;

  override async applyToHTTPSOptions(opts: Parameters<KubeConfig['applyToHTTPSOptions']>[0]): Promise<void> {
    await super.applyToHTTPSOptions(opts);
    const headers = this.impersonationHeaders();
    if (headers.length) opts.headers = { ...(opts.headers as Record<string, string> | undefined), ...Object.fromEntries(headers) };
  }

  private impersonationHeaders(): [string, string][] {
    const i = this.impersonation;
    return [...(i?.user ? [['Impersonate-User', i.user] as [string, string]] : []), ...(i?.group ? [['Impersonate-Group', i.group] as [string, string]] : [])];
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    for (const [k, v] of this.impersonationHeaders()) context.setHeaderParam(k, v);
    const fresh = context.getDispatcher();
    if (!fresh) return;
    const key = this.tlsKey();
    if (this.pool?.key !== key) {
      const old = this.pool;
      this.pool = { key, dispatcher: fresh };
      // Requests in flight (watches included) finish on the old pool; it closes once they have.
      if (old) void old.dispatcher.close().catch(() => undefined);
      return;
    }
    // The library's fresh Agent has opened no connection yet; dropping it costs nothing.
    context.setDispatcher(this.pool.dispatcher);
  }

  private tlsKey(): string {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    const h = createHash('sha256');
    const part = (v: string | boolean | undefined) => h.update(`${v ?? ''}\0`);
    const material = (file: string | undefined, data: string | undefined) => {
      if (data) part(data);
      else if (file) h.update(existsSync(file) ? readFileSync(file) : Buffer.alloc(0)).update('\0');
      else part('');
    };
    part(cluster?.server);
    part(cluster?.skipTLSVerify);
    part(cluster?.tlsServerName);
    part(cluster?.proxyUrl);
    material(cluster?.caFile, cluster?.caData);
    material(user?.certFile, user?.certData);
    material(user?.keyFile, user?.keyData);
    return h.digest('hex');
  }
}

/** Whom requests act as. One group: the fetch-based client would fold repeated headers into one "a, b" group. */
export interface Impersonation {
  readonly user?: string | undefined;
  readonly group?: string | undefined;
}

export interface KubeConfigOptions {
  readonly kubeconfig?: string | undefined;
  /** A context of the file other than its current one. */
  readonly context?: string | undefined;
  readonly impersonate?: Impersonation | undefined;
}

export function loadKubeConfig(opts: KubeConfigOptions = {}): KubeConfig {
  const kc = new PooledKubeConfig();
  try {
    if (opts.kubeconfig) {
      if (!existsSync(opts.kubeconfig)) throw new KubeConfigError(`kubeconfig ${opts.kubeconfig} does not exist`);
      kc.loadFromFile(opts.kubeconfig);
    } else if (process.env['KUBERNETES_SERVICE_HOST'] && existsSync(IN_CLUSTER_TOKEN)) {
      kc.loadFromCluster();
    } else {
      kc.loadFromDefault();
    }
  } catch (err) {
    if (err instanceof KubeConfigError) throw err;
    throw new KubeConfigError(`cannot load kubeconfig${opts.kubeconfig ? ` ${opts.kubeconfig}` : ''}: ${(err as Error).message}`, err);
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) throw new KubeConfigError(`context ${JSON.stringify(opts.context)} not found in the kubeconfig (contexts: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    kc.setCurrentContext(opts.context);
  }
  if (opts.impersonate?.user || opts.impersonate?.group) {
    // Kubernetes refuses a group without a user to act as.
    if (!opts.impersonate.user) throw new KubeConfigError('--as-group needs --as (Kubernetes impersonates groups only together with a user)');
    kc.impersonation = opts.impersonate;
  }
  if (!kc.getCurrentCluster()) throw new KubeConfigError('kubeconfig has no current cluster');
  return kc;
}
