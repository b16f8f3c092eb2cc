// The identity material an install needs: the trust anchors and the issuer's certificate and key. Given as files
// (as with `linkerd install --identity-*-file`), or generated as Linkerd does when none are given: a 10-year trust
// anchor and a 1-year issuer, ECDSA P-256, named for the default trust domain.
import { readFile } from 'node:fs/promises';
import { ConfigError } from '@trellis/config';
import { createIssuer, createTrustAnchor, decodeCertificates, decodePem } from '@trellis/pki';

export interface IdentityMaterial {
  readonly trustAnchorsPem: string;
  readonly issuerCertPem: string;
  readonly issuerKeyPem: string;
  /** True when this run made them (the user keeps no copy; `trellis upgrade` reads them back from the cluster). */
  readonly generated: boolean;
}

export interface IdentityFiles {
  readonly trustAnchors?: string | undefined;
  readonly issuerCertificate?: string | undefined;
  readonly issuerKey?: string | undefined;
}

async function readPem(flag: string, path: string, check: (text: string) => void): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read --${flag} ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  try {
    check(text);
  } catch (err) {
    throw new ConfigError(`--${flag} ${path}: ${(err as Error).message}`);
  }
  return text;
}

const hasKey = (text: string) => {
  if (!decodePem(text).some((b) => /PRIVATE KEY$/.test(b.label))) throw new Error('no PEM private key in it');
};

export async function identityMaterial(files: IdentityFiles, trustDomain = 'cluster.local'): Promise<IdentityMaterial> {
  const given = [files.trustAnchors, files.issuerCertificate, files.issuerKey].filter((f) => f !== undefined).length;
  if (given === 0) {
    const anchor = await createTrustAnchor({ commonName: `root.linkerd.${trustDomain}` });
    const issuer = await createIssuer({ commonName: `identity.linkerd.${trustDomain}`, parent: anchor });
    return { trustAnchorsPem: anchor.certificatePem, issuerCertPem: issuer.certificatePem, issuerKeyPem: issuer.privateKeyPem, generated: true };
  }
  if (given !== 3) {
    throw new ConfigError('give all three of --identity-trust-anchors-file, --identity-issuer-certificate-file and --identity-issuer-key-file, or none (trellis then generates them)');
  }
  return {
    trustAnchorsPem: await readPem('identity-trust-anchors-file', files.trustAnchors as string, (t) => decodeCertificates(t, 'trust anchors')),
    issuerCertPem: await readPem('identity-issuer-certificate-file', files.issuerCertificate as string, (t) => decodeCertificates(t, 'issuer certificate')),
    issuerKeyPem: await readPem('identity-issuer-key-file', files.issuerKey as string, hasKey),
    generated: false,
  };
}
