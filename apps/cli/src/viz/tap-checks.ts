// The tap checks of `trellis viz check`, as Linkerd's viz checks name them: the tap API's serving certificate
// against the caBundle of its APIService (and the host the aggregator dials), its expiry, the APIService's
// availability, the tap injector's webhook certificate, and (with --proxy) the meshed pods whose proxies serve no
// taps because they were started without the tap identity.
import type { X509Certificate } from 'node:crypto';
import { AdmissionregistrationV1Api, ApiregistrationV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { chainProblem, expiresSoon, nameOf, parseCertificates } from '../check/certs.ts';
import { fail, ok, warn, type Check, type CheckOutcome } from '../check/model.ts';
import type { VizCheckContext } from './check-context.ts';
import { proxyContainer } from '@trellis/inject';

export const TAP_API_SERVICE = 'v1alpha1.tap.linkerd.io';
export const TAP_SECRET = 'tap-k8s-tls';
export const TAP_INJECTOR_SECRET = 'tap-injector-k8s-tls';
/** The tap injector's webhook configurations carry these labels (their name is the chart's business). */
const TAP_SELECTOR = 'linkerd.io/extension=viz,component=tap';
const TAP_SVC_NAME_ENV = 'LINKERD2_PROXY_TAP_SVC_NAME';
const TAP_DISABLED = 'viz.linkerd.io/disable-tap';
const UPGRADE = 'trellis viz install | kubectl apply -f - (a generated certificate is renewed by each render)';

const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const notFound = (err: unknown) => (err as { code?: number }).code === 404;
const now = (ctx: VizCheckContext) => (ctx.now ? ctx.now() : new Date());

/** The certificates of a serving Secret's tls.crt, or undefined when the Secret does not exist. */
async function servingCerts(ctx: VizCheckContext, secret: string): Promise<X509Certificate[] | undefined> {
  try {
    const s = await ctx.kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name: secret, namespace: ctx.vizNamespace });
    const crt = s.data?.['tls.crt'];
    if (!crt) throw new Error(`Secret ${ctx.vizNamespace}/${secret} has no tls.crt`);
    return parseCertificates(decode(crt), `${secret} tls.crt`);
  } catch (err) {
    if (notFound(err)) return undefined;
    throw err;
  }
}

async function tapApiService(ctx: VizCheckContext) {
  try {
    return await ctx.kc.makeApiClient(ApiregistrationV1Api).readAPIService({ name: TAP_API_SERVICE });
  } catch (err) {
    if (notFound(err)) return undefined;
    throw err;
  }
}

/** The leaf against the CA bundle the API server trusts for it, and the host name it is dialled by. */
function judgeServing(label: string, certs: readonly X509Certificate[], bundle: string, host: string, at: Date): CheckOutcome {
  const [leaf, ...rest] = certs;
  if (!leaf) return fail(`the ${label} Secret holds no certificate`, UPGRADE);
  const why = chainProblem(leaf, rest, parseCertificates(bundle, `${label} caBundle`), at);
  if (why) return fail(`${label} serving certificate "${nameOf(leaf)}": ${why}`, UPGRADE);
  if (leaf.checkHost(host) === undefined) return fail(`${label} serving certificate "${nameOf(leaf)}" is not valid for ${host}, the name the API server dials`, UPGRADE);
  return ok;
}

function expiry(label: string, certs: readonly X509Certificate[] | undefined, at: Date): CheckOutcome {
  const leaf = certs?.[0];
  if (!leaf) return fail(`no ${label} certificate`, UPGRADE);
  const soon = expiresSoon(leaf, at);
  return soon ? warn(soon, UPGRADE) : ok;
}

const NOT_INSTALLED = 'the tap API is not installed (tap.enabled=false?): trellis viz tap and top cannot work';

export const tapApiChecks: readonly Check<VizCheckContext>[] = [
  {
    description: 'tap API server has valid cert',
    run: async (ctx) => {
      const [api, certs] = await Promise.all([tapApiService(ctx), servingCerts(ctx, TAP_SECRET)]);
      if (!api && !certs) return warn(NOT_INSTALLED);
      if (!api) return fail(`APIService ${TAP_API_SERVICE} does not exist`, UPGRADE);
      if (!certs) return fail(`Secret ${ctx.vizNamespace}/${TAP_SECRET} does not exist`, UPGRADE);
      if (!api.spec?.caBundle) return fail(`APIService ${TAP_API_SERVICE} has no caBundle`, UPGRADE);
      const svc = api.spec.service;
      return judgeServing('tap API', certs, decode(api.spec.caBundle), `${svc?.name ?? 'tap'}.${svc?.namespace ?? ctx.vizNamespace}.svc`, now(ctx));
    },
  },
  {
    description: 'tap API server cert is valid for at least 60 days',
    run: async (ctx) => {
      const certs = await servingCerts(ctx, TAP_SECRET);
      if (!certs && !(await tapApiService(ctx))) return warn(NOT_INSTALLED);
      return expiry('tap API', certs, now(ctx));
    },
  },
  {
    description: 'tap API service is running',
    retry: true,
    run: async (ctx) => {
      const api = await tapApiService(ctx);
      if (!api) return (await servingCerts(ctx, TAP_SECRET)) ? fail(`APIService ${TAP_API_SERVICE} does not exist`, UPGRADE) : warn(NOT_INSTALLED);
      const available = api.status?.conditions?.find((c) => c.type === 'Available');
      if (available?.status === 'True') return ok;
      const why = available ? `${available.reason ?? 'not available'}: ${available.message ?? ''}`.replace(/:\s*$/, '') : 'no Available condition yet';
      return fail(`APIService ${TAP_API_SERVICE} is not available (${why})`, `kubectl -n ${ctx.vizNamespace} get pods -l component=tap; kubectl -n ${ctx.vizNamespace} logs deploy/tap tap`);
    },
  },
  {
    description: 'tap-injector webhook has valid cert',
    run: async (ctx) => {
      const configs = (await ctx.kc.makeApiClient(AdmissionregistrationV1Api).listMutatingWebhookConfiguration({ labelSelector: TAP_SELECTOR })).items;
      const certs = await servingCerts(ctx, TAP_INJECTOR_SECRET);
      const webhook = configs.flatMap((c) => c.webhooks ?? []).find((w) => w.clientConfig.service?.namespace === ctx.vizNamespace);
      if (!webhook && !certs) return warn('the tap injector is not installed (tapInjector.enabled=false?): new pods get no tap identity unless the core injector gives it');
      if (!webhook) return fail(`no MutatingWebhookConfiguration labelled ${TAP_SELECTOR} calls the tap injector in ${ctx.vizNamespace}`, UPGRADE);
      if (!certs) return fail(`Secret ${ctx.vizNamespace}/${TAP_INJECTOR_SECRET} does not exist`, UPGRADE);
      if (!webhook.clientConfig.caBundle) return fail(`the tap-injector webhook configuration has no caBundle`, UPGRADE);
      const svc = webhook.clientConfig.service;
      return judgeServing('tap-injector', certs, decode(webhook.clientConfig.caBundle), `${svc?.name ?? 'tap-injector'}.${svc?.namespace ?? ctx.vizNamespace}.svc`, now(ctx));
    },
  },
  {
    description: 'tap-injector cert is valid for at least 60 days',
    run: async (ctx) => {
      const certs = await servingCerts(ctx, TAP_INJECTOR_SECRET);
      return certs ? expiry('tap-injector', certs, now(ctx)) : warn('the tap injector is not installed');
    },
  },
];

const proxyOf = (p: V1Pod) => proxyContainer(p.spec);
const isTrue = (v: string | undefined) => v?.toLowerCase() === 'true';

/** Linkerd's data-plane tap check: the meshed pods (tap not disabled) whose proxies were started without the tap identity. */
export const dataPlaneTapCheck: Check<VizCheckContext> = {
  description: 'data-plane pods have tap enabled',
  run: async (ctx) => {
    const core = ctx.kc.makeApiClient(CoreV1Api);
    const selector = { labelSelector: 'linkerd.io/control-plane-ns' };
    const pods = (ctx.dataPlaneNamespace ? await core.listNamespacedPod({ namespace: ctx.dataPlaneNamespace, ...selector }) : await core.listPodForAllNamespaces(selector)).items.filter(
      (p) => !p.metadata?.deletionTimestamp && proxyOf(p) !== undefined,
    );
    const disabledNs = new Map<string, boolean>();
    const nsDisabled = async (ns: string) => {
      if (!disabledNs.has(ns)) disabledNs.set(ns, isTrue((await core.readNamespace({ name: ns })).metadata?.annotations?.[TAP_DISABLED]));
      return disabledNs.get(ns) === true;
    };
    const without: V1Pod[] = [];
    for (const p of pods) {
      if (isTrue(p.metadata?.annotations?.[TAP_DISABLED]) || (await nsDisabled(p.metadata?.namespace ?? ''))) continue;
      if (!proxyOf(p)?.env?.some((e) => e.name === TAP_SVC_NAME_ENV)) without.push(p);
    }
    if (without.length === 0) return ok;
    const namespaces = [...new Set(without.map((p) => p.metadata?.namespace ?? ''))];
    return warn(
      [`some data plane pods do not have tap configured (their proxies were started without ${TAP_SVC_NAME_ENV}) and cannot be tapped:`, ...without.map((p) => `* ${p.metadata?.namespace}/${p.metadata?.name}`)].join('\n'),
      `restart them so that the tap injector gives the new pods the tap identity: ${namespaces.map((ns) => `kubectl -n ${ns} rollout restart deploy`).join('; ')}`,
    );
  },
};
