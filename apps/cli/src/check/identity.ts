// trellis-identity, trellis-webhooks-and-apisvc-tls and trellis-identity-data-plane: the certificates the mesh runs
// on — valid now, valid for a while yet, and signed by whom they should be. An expired issuer stops every new proxy.
import type { X509Certificate } from 'node:crypto';
import { chainProblem, expiresSoon, nameOf, outsideValidity, parseCertificates, unsupportedAlgorithm } from './certs.ts';
import { valueAt, type CheckContext } from './context.ts';
import { MUTATING_WEBHOOK, VALIDATING_WEBHOOK } from './control-plane.ts';
import { fail, ok, warn, type Category, type Check, type CheckOutcome } from './model.ts';
import { proxyContainer } from '@trellis/inject';

export const TRUST_ROOTS_CONFIG_MAP = 'trellis-identity-trust-roots';
export const ISSUER_SECRET = 'trellis-identity-issuer';

interface IdentityCerts {
  readonly anchors: X509Certificate[];
  readonly anchorsPem: string;
  /** Leaf first, then any intermediates shipped with it; absent for an external CA. */
  readonly issuer?: X509Certificate[];
}

const certsOf = new WeakMap<CheckContext, IdentityCerts>();

function certs(ctx: CheckContext): IdentityCerts {
  const c = certsOf.get(ctx);
  if (!c) throw new Error('the certificate config could not be read (see "certificate config is valid")');
  return c;
}

const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const rotateIssuer = 'rotate the issuer: a new issuer.crt/issuer.key signed by the trust anchor, then helm upgrade with --set-file identity.issuer.tls.crtPEM=... keyPEM=...';
const rotateAnchors = 'rotate the trust anchors (bundle old and new, roll the proxies, then drop the old)';

function each(list: readonly X509Certificate[], problem: (c: X509Certificate) => string | undefined): string[] {
  return list.flatMap((c) => problem(c) ?? []);
}

function judge(problems: string[], status: 'fail' | 'warn', hint: string): CheckOutcome {
  if (problems.length === 0) return ok;
  return status === 'fail' ? fail(problems.join('\n'), hint) : warn(problems.join('\n'), hint);
}

export const trellisIdentity: Category<CheckContext> = {
  id: 'trellis-identity',
  checks: [
    {
      description: 'certificate config is valid',
      fatal: true,
      run: async (ctx) => {
        const cm = await ctx.cluster.maybe(() => ctx.cluster.core.readNamespacedConfigMap({ name: TRUST_ROOTS_CONFIG_MAP, namespace: ctx.ns }));
        const anchorsPem = cm?.data?.['ca-bundle.crt'];
        if (!anchorsPem) return fail(`ConfigMap ${ctx.ns}/${TRUST_ROOTS_CONFIG_MAP} has no ca-bundle.crt`);
        const anchors = parseCertificates(anchorsPem, `${TRUST_ROOTS_CONFIG_MAP} ca-bundle.crt`);
        const scheme = valueAt(ctx.values, 'identity.issuer.scheme') ?? 'linkerd.io/tls';
        if (valueAt(ctx.values, 'identity.externalCA') === true || scheme !== 'linkerd.io/tls') {
          certsOf.set(ctx, { anchors, anchorsPem });
          return ok;
        }
        const secret = await ctx.cluster.maybe(() => ctx.cluster.core.readNamespacedSecret({ name: ISSUER_SECRET, namespace: ctx.ns }));
        const crt = secret?.data?.['crt.pem'];
        if (!crt || !secret?.data?.['key.pem']) return fail(`Secret ${ctx.ns}/${ISSUER_SECRET} must hold crt.pem and key.pem`);
        certsOf.set(ctx, { anchors, anchorsPem, issuer: parseCertificates(decode(crt), `${ISSUER_SECRET} crt.pem`) });
        return ok;
      },
    },
    {
      description: 'trust anchors are using supported crypto algorithm',
      run: async (ctx) => judge(each(certs(ctx).anchors, unsupportedAlgorithm), 'fail', rotateAnchors),
    },
    {
      description: 'trust anchors are within their validity period',
      run: async (ctx) => judge(each(certs(ctx).anchors, (c) => outsideValidity(c, ctx.now())), 'fail', rotateAnchors),
    },
    {
      description: 'trust anchors are valid for at least 60 days',
      run: async (ctx) => judge(each(certs(ctx).anchors, (c) => expiresSoon(c, ctx.now())), 'warn', rotateAnchors),
    },
    ...issuerChecks(),
  ],
};

function issuerChecks(): Check<CheckContext>[] {
  const leaf = (ctx: CheckContext) => certs(ctx).issuer?.[0];
  const external = ok;
  return [
    {
      description: 'issuer cert is using supported crypto algorithm',
      run: async (ctx) => {
        const c = leaf(ctx);
        return c ? judge([unsupportedAlgorithm(c) ?? []].flat(), 'fail', rotateIssuer) : external;
      },
    },
    {
      description: 'issuer cert is within its validity period',
      run: async (ctx) => {
        const c = leaf(ctx);
        return c ? judge([outsideValidity(c, ctx.now()) ?? []].flat(), 'fail', rotateIssuer) : external;
      },
    },
    {
      description: 'issuer cert is valid for at least 60 days',
      run: async (ctx) => {
        const c = leaf(ctx);
        return c ? judge([expiresSoon(c, ctx.now()) ?? []].flat(), 'warn', rotateIssuer) : external;
      },
    },
    {
      description: 'issuer cert is issued by the trust anchor',
      run: async (ctx) => {
        const { issuer, anchors } = certs(ctx);
        const [c, ...rest] = issuer ?? [];
        if (!c) return external;
        const why = chainProblem(c, rest, anchors, ctx.now());
        return why ? fail(`issuer "${nameOf(c)}": ${why}`, 'the issuer must be signed by a certificate in identityTrustAnchorsPEM') : ok;
      },
    },
  ];
}

/** The webhook's serving certificate (from its Secret) checked against the caBundle the API server trusts. */
export function webhookChecks(label: string, secretName: string, read: (ctx: CheckContext) => Promise<string | undefined>): Check<CheckContext>[] {
  const serving = async (ctx: CheckContext) => {
    const s = await ctx.cluster.maybe(() => ctx.cluster.core.readNamespacedSecret({ name: secretName, namespace: ctx.ns }));
    const crt = s?.data?.['tls.crt'];
    if (!crt) throw new Error(`Secret ${ctx.ns}/${secretName} has no tls.crt`);
    return parseCertificates(decode(crt), `${secretName} tls.crt`);
  };
  return [
    {
      description: `${label} webhook has valid cert`,
      run: async (ctx) => {
        const [leaf, ...rest] = await serving(ctx);
        if (!leaf) return fail(`Secret ${ctx.ns}/${secretName} holds no certificate`);
        const bundle = await read(ctx);
        if (!bundle) return fail(`the ${label} webhook configuration has no caBundle`);
        const why = chainProblem(leaf, rest, parseCertificates(bundle, `${label} caBundle`), ctx.now());
        return why ? fail(`${label} serving certificate: ${why}`, `helm upgrade regenerates it; or supply ${label} crtPEM/keyPEM and caBundle`) : ok;
      },
    },
    {
      description: `${label} cert is valid for at least 60 days`,
      run: async (ctx) => judge(each((await serving(ctx)).slice(0, 1), (c) => expiresSoon(c, ctx.now())), 'warn', 'helm upgrade renews a generated webhook certificate'),
    },
  ];
}

export const trellisWebhooks: Category<CheckContext> = {
  id: 'trellis-webhooks-and-apisvc-tls',
  checks: [
    ...webhookChecks('proxy-injector', 'trellis-proxy-injector-k8s-tls', async (ctx) => {
      const w = await ctx.cluster.admission.readMutatingWebhookConfiguration({ name: MUTATING_WEBHOOK });
      const b = w.webhooks?.[0]?.clientConfig.caBundle;
      return b ? decode(b) : undefined;
    }),
    ...webhookChecks('sp-validator', 'trellis-sp-validator-k8s-tls', async (ctx) => {
      const w = await ctx.cluster.admission.readValidatingWebhookConfiguration({ name: VALIDATING_WEBHOOK });
      const b = w.webhooks?.[0]?.clientConfig.caBundle;
      return b ? decode(b) : undefined;
    }),
  ],
};

export const trellisIdentityDataPlane: Category<CheckContext> = {
  id: 'trellis-identity-data-plane',
  checks: [
    {
      description: 'data plane proxies certificate match CA',
      run: async (ctx) => {
        const want = certs(ctx).anchorsPem.trim();
        const pods = await ctx.cluster.pods(ctx.options.dataPlaneNamespace, `linkerd.io/control-plane-ns=${ctx.ns}`);
        const stale = pods.filter((p) => {
          const have = proxyContainer(p.spec)?.env?.find((e) => e.name === 'LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS')?.value;
          return have !== undefined && have.trim() !== want;
        });
        return stale.length
          ? warn(`pods whose proxies trust other anchors than the control plane:\n${stale.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`).join('\n')}`, 'restart them (kubectl rollout restart) so they pick up the current trust anchors')
          : ok;
      },
    },
  ],
};
