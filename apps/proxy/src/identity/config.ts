// Identity settings (docs/reference/linkerd-proxy.md §3, §7; docs/reference/linkerd-contracts.md §2.1), parsed once into a frozen object.
import { ConfigError } from '@trellis/config';
import { decodeCertificates } from '@trellis/pki/workload';
import { badValue, controlAddr, EnvReader, type ControlAddr, type Env } from './env.ts';

export interface IdentityConfig {
  /** Where key.p8 and csr.der are written (an in-memory emptyDir in a pod). */
  readonly dir: string;
  readonly tokenFile: string;
  readonly trustAnchorsPem: string;
  readonly trustAnchors: readonly Uint8Array[];
  /** Our identity: the CSR's CN and DNS SAN, and the SNI peers must send to reach us. */
  readonly localName: string;
  readonly svcAddr: ControlAddr;
  /** The identity service's own identity, checked against its certificate. */
  readonly svcName: string;
  readonly minRefreshMs: number;
  readonly maxRefreshMs: number;
}

const DNS_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;

function localName(env: EnvReader): string {
  const local = env.raw('LINKERD2_PROXY_IDENTITY_LOCAL_NAME');
  const id = env.raw('LINKERD2_PROXY_IDENTITY_SERVER_ID');
  const sni = env.raw('LINKERD2_PROXY_IDENTITY_SERVER_NAME');
  let name: string;
  let from: string;
  if (local !== undefined) {
    name = local.trim();
    from = 'LINKERD2_PROXY_IDENTITY_LOCAL_NAME';
  } else if (id !== undefined && sni !== undefined) {
    // Without SPIRE the TLS id and the server name are one name (Linkerd: TlsIdAndServerNameNotMatching).
    if (id.trim() !== sni.trim()) {
      throw new ConfigError(`LINKERD2_PROXY_IDENTITY_SERVER_ID ${JSON.stringify(id)} and LINKERD2_PROXY_IDENTITY_SERVER_NAME ${JSON.stringify(sni)} must be equal`);
    }
    name = id.trim();
    from = 'LINKERD2_PROXY_IDENTITY_SERVER_ID';
  } else {
    throw new ConfigError('LINKERD2_PROXY_IDENTITY_LOCAL_NAME is required (or both LINKERD2_PROXY_IDENTITY_SERVER_ID and _SERVER_NAME)');
  }
  if (!DNS_NAME.test(name.replace(/\.$/, ''))) throw badValue(from, name, 'expected a fully-qualified DNS-like identity such as web.emojivoto.serviceaccount.identity.linkerd.cluster.local');
  return name.replace(/\.$/, '');
}

export function parseIdentityConfig(envVars: Env): IdentityConfig {
  const env = new EnvReader(envVars);
  const anchorsPem = env.required('LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS');
  let trustAnchors: Uint8Array[];
  try {
    trustAnchors = decodeCertificates(anchorsPem, 'LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS');
  } catch (err) {
    throw new ConfigError(`invalid LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (trustAnchors.length === 0) throw new ConfigError('LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS holds no certificate');
  const minRefreshMs = env.duration('LINKERD2_PROXY_IDENTITY_MIN_REFRESH', '10s');
  const maxRefreshMs = env.duration('LINKERD2_PROXY_IDENTITY_MAX_REFRESH', '24h');
  if (maxRefreshMs < minRefreshMs) {
    throw badValue('LINKERD2_PROXY_IDENTITY_MAX_REFRESH', env.raw('LINKERD2_PROXY_IDENTITY_MAX_REFRESH') ?? '24h', 'must not be shorter than LINKERD2_PROXY_IDENTITY_MIN_REFRESH');
  }
  const svcAddr = controlAddr('LINKERD2_PROXY_IDENTITY_SVC_ADDR', env.required('LINKERD2_PROXY_IDENTITY_SVC_ADDR'));
  // The name is only needed when TLS is used; a loopback address goes in plaintext.
  const svcName = svcAddr.loopback ? (env.raw('LINKERD2_PROXY_IDENTITY_SVC_NAME') ?? '') : env.required('LINKERD2_PROXY_IDENTITY_SVC_NAME');
  return Object.freeze({
    dir: env.required('LINKERD2_PROXY_IDENTITY_DIR'),
    tokenFile: env.required('LINKERD2_PROXY_IDENTITY_TOKEN_FILE'),
    trustAnchorsPem: anchorsPem,
    trustAnchors: Object.freeze(trustAnchors),
    localName: localName(env),
    svcAddr,
    svcName: svcName.trim().replace(/\.$/, ''),
    minRefreshMs,
    maxRefreshMs,
  });
}
