// One pod's proxy-init settings: the conflist's `linkerd` section, then what the pod itself says, the way the
// injector would have given them to linkerd-init. The proxy's own ports come from its container's environment
// and its uid/gid from its securityContext; Linkerd's config.linkerd.io/skip-* and proxy-uid/gid annotations (on the
// pod, else on its namespace) replace the conflist's lists; the proxy's control and admin ports are always
// left alone inbound; control-plane pods also leave the API server's ports alone outbound (Linkerd's plugin).
// Every value keeps the name of where it came from, so a bad one is reported by that name. Pure.
import { ConfigError, type FlagValue } from '@trellis/config';
import { parseProxyInitConfig, type ProxyInitConfig } from '@trellis/iptables';
import type { RedirectSettings } from '../cni/conf.ts';
import { CNI_ERR, CniError } from '../cni/errors.ts';
import { proxyContainer, type PodView } from './meshed.ts';

export const ANNOTATIONS = {
  skipInbound: 'config.linkerd.io/skip-inbound-ports',
  skipOutbound: 'config.linkerd.io/skip-outbound-ports',
  skipSubnets: 'config.linkerd.io/skip-subnets',
  proxyUid: 'config.linkerd.io/proxy-uid',
  proxyGid: 'config.linkerd.io/proxy-gid',
} as const;
export const CONTROL_PLANE_LABEL = 'linkerd.io/control-plane-component';

interface Sourced {
  readonly values: Record<string, FlagValue>;
  readonly labels: Map<string, string>;
  /** Labels that point into the pod (its annotations, its proxy container) rather than the conflist. */
  readonly fromPod: Set<string>;
}

const items = (list: readonly string[]) => list.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
const unique = (list: readonly string[]) => [...new Set(list)];

/** The conflist's settings alone: checked on every call, so a bad conflist fails even for pods it does not mesh. */
function fromConf(conf: RedirectSettings, netns: string): Sourced {
  const values: Record<string, FlagValue> = {
    'incoming-proxy-port': String(conf['incoming-proxy-port']),
    'outgoing-proxy-port': String(conf['outgoing-proxy-port']),
    'proxy-uid': String(conf['proxy-uid']),
    'proxy-gid': String(conf['proxy-gid']),
    'ports-to-redirect': conf['ports-to-redirect'].map(String),
    'inbound-ports-to-ignore': [...conf['inbound-ports-to-ignore']],
    'outbound-ports-to-ignore': [...conf['outbound-ports-to-ignore']],
    'subnets-to-ignore': [...conf['subnets-to-ignore']],
    simulate: conf.simulate,
    netns,
    'use-wait-flag': conf['use-wait-flag'],
    'timeout-close-wait-secs': '0',
    'log-format': 'plain',
    'log-level': 'info',
    'iptables-mode': conf['iptables-mode'],
    ipv6: conf.ipv6,
  };
  return { values, labels: new Map(), fromPod: new Set() };
}

function parse(s: Sourced): ProxyInitConfig {
  const label = (key: string) => s.labels.get(key) ?? `linkerd.${key}`;
  try {
    return parseProxyInitConfig(s.values, label);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const podSetting = [...s.fromPod].some((l) => err.message.includes(l));
    throw new CniError(podSetting ? CNI_ERR.invalidPodSetting : CNI_ERR.invalidConfig, podSetting ? err.message : `invalid network configuration: ${err.message}`);
  }
}

export function confRedirectConfig(conf: RedirectSettings, netns: string): ProxyInitConfig {
  return parse(fromConf(conf, netns));
}

const portOf = (addr: string | undefined) => (addr ? addr.slice(addr.lastIndexOf(':') + 1) : undefined);

export interface PodContext {
  readonly pod: PodView;
  readonly namespaceAnnotations: Readonly<Record<string, string>>;
  /** The `kubernetes` Service's ports (and numeric target ports), for control-plane pods. */
  readonly apiServerPorts: readonly string[];
}

export function podRedirectConfig(conf: RedirectSettings, netns: string, ctx: PodContext): ProxyInitConfig {
  const s = fromConf(conf, netns);
  const podName = `${ctx.pod.metadata?.namespace}/${ctx.pod.metadata?.name}`;
  const set = (key: string, value: FlagValue, label: string) => {
    s.values[key] = value;
    s.labels.set(key, label);
    s.fromPod.add(label);
  };
  const annotation = (key: string): [string, string] | undefined => {
    const own = ctx.pod.metadata?.annotations?.[key];
    if (own) return [own, `annotation ${key} of pod ${podName}`];
    const inherited = ctx.namespaceAnnotations[key];
    return inherited ? [inherited, `annotation ${key} of namespace ${ctx.pod.metadata?.namespace}`] : undefined;
  };

  const proxy = proxyContainer(ctx.pod);
  const env = new Map((proxy?.env ?? []).filter((e) => e.name && e.value !== undefined).map((e) => [e.name as string, e.value as string]));
  const envPort = (name: string) => portOf(env.get(name)?.split(',')[0]);
  const inbound = envPort('LINKERD2_PROXY_INBOUND_LISTEN_ADDR');
  if (inbound) set('incoming-proxy-port', inbound, `LINKERD2_PROXY_INBOUND_LISTEN_ADDR of ${podName}'s linkerd-proxy`);
  const outbound = envPort('LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR') ?? envPort('LINKERD2_PROXY_OUTBOUND_LISTEN_ADDRS');
  if (outbound) set('outgoing-proxy-port', outbound, `LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR of ${podName}'s linkerd-proxy`);

  const uid = proxy?.securityContext?.runAsUser;
  const uidAnnotation = annotation(ANNOTATIONS.proxyUid);
  if (uid !== undefined) set('proxy-uid', String(uid), `securityContext.runAsUser of ${podName}'s linkerd-proxy`);
  else if (uidAnnotation) set('proxy-uid', uidAnnotation[0], uidAnnotation[1]);
  const gid = proxy?.securityContext?.runAsGroup;
  const gidAnnotation = annotation(ANNOTATIONS.proxyGid);
  if (gid !== undefined) set('proxy-gid', String(gid), `securityContext.runAsGroup of ${podName}'s linkerd-proxy`);
  else if (gidAnnotation) set('proxy-gid', gidAnnotation[0], gidAnnotation[1]);

  // The proxy's control and admin ports first, as the injector gives them to linkerd-init.
  const proxyPorts = [envPort('LINKERD2_PROXY_CONTROL_LISTEN_ADDR') ?? '4190', envPort('LINKERD2_PROXY_ADMIN_LISTEN_ADDR') ?? '4191'];
  const skipInbound = annotation(ANNOTATIONS.skipInbound);
  const inboundRest = skipInbound ? [skipInbound[0]] : conf['inbound-ports-to-ignore'];
  const inboundLabel = skipInbound?.[1] ?? 'linkerd.inbound-ports-to-ignore';
  set('inbound-ports-to-ignore', [unique([...proxyPorts, ...items(inboundRest)]).join(',')], inboundLabel);
  if (!skipInbound) s.fromPod.delete(inboundLabel);

  const skipOutbound = annotation(ANNOTATIONS.skipOutbound);
  const isControlPlane = Boolean(ctx.pod.metadata?.labels?.[CONTROL_PLANE_LABEL]);
  const outboundList = unique([...items(skipOutbound ? [skipOutbound[0]] : conf['outbound-ports-to-ignore']), ...(isControlPlane ? ctx.apiServerPorts : [])]);
  if (skipOutbound || isControlPlane) set('outbound-ports-to-ignore', outboundList.length > 0 ? [outboundList.join(',')] : [], skipOutbound?.[1] ?? 'linkerd.outbound-ports-to-ignore');
  if (!skipOutbound) s.fromPod.delete('linkerd.outbound-ports-to-ignore');

  const skipSubnets = annotation(ANNOTATIONS.skipSubnets);
  if (skipSubnets) set('subnets-to-ignore', items([skipSubnets[0]]), skipSubnets[1]);
  return parse(s);
}
