// Certificates for the local control plane, made with openssl: a cluster CA, the API server's serving
// certificate, an admin client certificate (system:masters) and the service-account signing key pair.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const openssl = (args: string[]) => run('openssl', args);

export interface ClusterCerts {
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  readonly saKey: string;
  readonly saPub: string;
  /** The aggregation layer's front proxy: its own CA and the client certificate the API server calls extension API servers with. */
  readonly frontProxyCaCert?: string;
  readonly frontProxyClientCert?: string;
  readonly frontProxyClientKey?: string;
}

async function ecKey(path: string): Promise<void> {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

async function signed(dir: string, name: string, subject: string, ext: string, certs: { caCert: string; caKey: string }) {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const crt = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  await ecKey(key);
  await openssl(['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
  await writeFile(extFile, ext);
  await openssl(['x509', '-req', '-in', csr, '-CA', certs.caCert, '-CAkey', certs.caKey, '-CAcreateserial', '-days', '30', '-sha256', '-extfile', extFile, '-out', crt]);
  return { cert: crt, key };
}

export async function makeClusterCerts(dir: string, serviceIp: string, extraIps: readonly string[] = []): Promise<ClusterCerts> {
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  await ecKey(caKey);
  await openssl(['req', '-x509', '-new', '-key', caKey, '-subj', '/CN=trellis-local-cluster-ca', '-days', '30', '-sha256', '-out', caCert,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
  const ca = { caCert, caKey };
  const server = await signed(dir, 'apiserver', '/CN=kube-apiserver',
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n` +
      `subjectAltName=IP:127.0.0.1,IP:${serviceIp},${extraIps.map((ip) => `IP:${ip},`).join('')}DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n`, ca);
  const admin = await signed(dir, 'admin', '/O=system:masters/CN=trellis-admin',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n', ca);
  const saKey = join(dir, 'sa.key');
  const saPub = join(dir, 'sa.pub');
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', saKey]);
  await openssl(['pkey', '-in', saKey, '-pubout', '-out', saPub]);
  const fpKey = join(dir, 'front-proxy-ca.key');
  const fpCert = join(dir, 'front-proxy-ca.crt');
  await ecKey(fpKey);
  await openssl(['req', '-x509', '-new', '-key', fpKey, '-subj', '/CN=trellis-front-proxy-ca', '-days', '30', '-sha256', '-out', fpCert,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
  const fpClient = await signed(dir, 'front-proxy-client', '/CN=front-proxy-client',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n', { caCert: fpCert, caKey: fpKey });
  return {
    caCert, caKey, serverCert: server.cert, serverKey: server.key, adminCert: admin.cert, adminKey: admin.key, saKey, saPub,
    frontProxyCaCert: fpCert, frontProxyClientCert: fpClient.cert, frontProxyClientKey: fpClient.key,
  };
}

/**
 * A kubelet's certificates, signed by the cluster CA: its client identity `system:node:<name>` in `system:nodes`
 * (what the Node authorizer expects), and its serving certificate for the node's address (exec, logs, port-forward
 * from the API server).
 */
export async function makeKubeletCerts(dir: string, ca: { caCert: string; caKey: string }, node: string, ip: string) {
  const client = await signed(dir, `kubelet-client-${node}`, `/O=system:nodes/CN=system:node:${node}`,
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n', ca);
  const serving = await signed(dir, `kubelet-serving-${node}`, `/CN=system:node:${node}`,
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:${ip},DNS:${node}\n`, ca);
  return { clientCert: client.cert, clientKey: client.key, servingCert: serving.cert, servingKey: serving.key };
}
