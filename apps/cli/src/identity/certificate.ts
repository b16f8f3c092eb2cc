// A meshed pod's certificate, read the way `linkerd identity` reads it: a TLS handshake with the proxy's inbound
// port naming the pod's own identity (SNI), which makes the proxy answer with the certificate it holds. Nothing is
// verified here: the point is to show what the proxy presents, expired or not.
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import type { V1Container, V1Pod } from '@kubernetes/client-node';

const PROXY = 'linkerd-proxy';
const INBOUND_PORT_NAME = 'linkerd-proxy';
const DEFAULT_INBOUND_PORT = 4143;

export interface ProxyTarget {
  /** The identity the proxy certifies (LINKERD2_PROXY_IDENTITY_LOCAL_NAME with its $(VAR)s filled in). */
  readonly identity: string;
  /** The proxy's inbound (TLS) port. */
  readonly port: number;
}

function proxyContainer(pod: V1Pod): V1Container | undefined {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === PROXY);
}

/** The value of a container's env var as the kubelet computes it: literals, the pod fields, $(VAR) references. */
function envValue(pod: V1Pod, c: V1Container, name: string, depth = 0): string | undefined {
  const e = c.env?.find((x) => x.name === name);
  if (!e) return undefined;
  if (e.value !== undefined) {
    if (depth > 5) return e.value;
    return e.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string) => envValue(pod, c, v, depth + 1) ?? m);
  }
  const field = e.valueFrom?.fieldRef?.fieldPath;
  if (field === 'spec.serviceAccountName') return pod.spec?.serviceAccountName ?? 'default';
  if (field === 'metadata.namespace') return pod.metadata?.namespace;
  if (field === 'metadata.name') return pod.metadata?.name;
  return undefined;
}

/** Where to ask a pod's proxy for its certificate, or why it cannot be asked. */
export function proxyTarget(pod: V1Pod): ProxyTarget | { readonly reason: string } {
  const c = proxyContainer(pod);
  if (!c) return { reason: 'not meshed (no linkerd-proxy container)' };
  if (envValue(pod, c, 'LINKERD2_PROXY_IDENTITY_DISABLED') !== undefined) return { reason: 'its proxy runs without identity (LINKERD2_PROXY_IDENTITY_DISABLED)' };
  const identity = envValue(pod, c, 'LINKERD2_PROXY_IDENTITY_LOCAL_NAME');
  if (!identity || identity.includes('$(')) return { reason: 'its proxy has no identity name (LINKERD2_PROXY_IDENTITY_LOCAL_NAME)' };
  const named = c.ports?.find((p) => p.name === INBOUND_PORT_NAME)?.containerPort;
  const listen = /:(\d+)$/.exec(envValue(pod, c, 'LINKERD2_PROXY_INBOUND_LISTEN_ADDR') ?? '')?.[1];
  return { identity, port: named ?? (listen ? Number(listen) : DEFAULT_INBOUND_PORT) };
}

/** The certificate the TLS server at host:port presents for `servername`. */
export function presentedCertificate(host: string, port: number, servername: string, timeoutMs = 10_000): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, servername, rejectUnauthorized: false, ALPNProtocols: [] });
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS handshake within ${timeoutMs / 1000} s`)), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const raw = socket.getPeerCertificate(false)?.raw;
      socket.destroy();
      if (!raw) reject(new Error('the proxy presented no certificate'));
      else resolve(new X509Certificate(raw));
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new Error('the connection closed before the TLS handshake finished'));
    });
  });
}

const EKU: Readonly<Record<string, string>> = {
  '1.3.6.1.5.5.7.3.1': 'TLS Web Server Authentication',
  '1.3.6.1.5.5.7.3.2': 'TLS Web Client Authentication',
};

const colons = (hex: string) => (hex.match(/../g) ?? []).join(':').toLowerCase();
const oneLine = (dn: string) => dn.split('\n').filter(Boolean).join(', ');

function publicKeyText(cert: X509Certificate): string {
  const k = cert.publicKey;
  const d = k.asymmetricKeyDetails;
  if (k.asymmetricKeyType === 'ec') return `ECDSA (${d?.namedCurve === 'prime256v1' ? 'P-256' : (d?.namedCurve ?? 'unknown curve')})`;
  if (k.asymmetricKeyType === 'rsa') return `RSA (${d?.modulusLength ?? '?'} bit)`;
  return k.asymmetricKeyType ?? 'unknown';
}

/** The certificate as `linkerd identity` prints it (OpenSSL's layout), the fields a person checks first. */
export function describeCertificate(cert: X509Certificate): string {
  const sans = (cert.subjectAltName ?? '').split(', ').filter(Boolean);
  const eku = (cert.keyUsage ?? []).map((o) => EKU[o] ?? o);
  return [
    'Certificate:',
    '    Data:',
    `        Serial Number: ${colons(cert.serialNumber)}`,
    `    Signature Algorithm: ${cert.signatureAlgorithm ?? cert.signatureAlgorithmOid ?? 'unknown'}`,
    `        Issuer: ${oneLine(cert.issuer)}`,
    '        Validity',
    `            Not Before: ${cert.validFrom}`,
    `            Not After : ${cert.validTo}`,
    `        Subject: ${oneLine(cert.subject)}`,
    '        Subject Public Key Info:',
    `            Public Key Algorithm: ${publicKeyText(cert)}`,
    '        X509v3 extensions:',
    `            X509v3 Basic Constraints: CA:${cert.ca ? 'TRUE' : 'FALSE'}`,
    ...(eku.length ? ['            X509v3 Extended Key Usage:', `                ${eku.join(', ')}`] : []),
    ...(sans.length ? ['            X509v3 Subject Alternative Name:', `                ${sans.join(', ')}`] : []),
    `    SHA256 Fingerprint: ${cert.fingerprint256}`,
    '',
  ].join('\n');
}

export interface CertificateJson {
  readonly subject: string;
  readonly issuer: string;
  readonly dnsNames: readonly string[];
  readonly notBefore: string;
  readonly notAfter: string;
  readonly serialNumber: string;
  readonly fingerprintSha256: string;
  readonly pem: string;
}

export function certificateJson(cert: X509Certificate): CertificateJson {
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    dnsNames: (cert.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4)),
    notBefore: cert.validFromDate.toISOString(),
    notAfter: cert.validToDate.toISOString(),
    serialNumber: colons(cert.serialNumber),
    fingerprintSha256: cert.fingerprint256,
    pem: cert.toString(),
  };
}
