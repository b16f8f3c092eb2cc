// Keys, CSRs, certificate issuing and verification, PEM/DER and trust bundles for the mesh's identities.
// ./x509.ts loads reflect-metadata before @peculiar/x509; every module that needs x509 imports it from there.
import './x509.ts';
export * from './errors.ts';
export * from './pem.ts';
export * from './keys.ts';
export * from './csr.ts';
export * from './verify.ts';
export * from './authority.ts';
export * from './generate.ts';
export * from './fingerprint.ts';
export * from './tls.ts';
