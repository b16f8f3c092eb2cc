// What a workload (a proxy) needs from pki, without @peculiar/x509 and its ASN.1 object model: keys, its CSR
// (written with the DER writer), PEM, chain verification and TLS options. Certificate generation and the
// issuer's own checks stay in the package's main entry, for the control plane and tools.
export * from './errors.ts';
export * from './pem.ts';
export * from './keys.ts';
export * from './csr.ts';
export * from './verify.ts';
export * from './fingerprint.ts';
export * from './tls.ts';
