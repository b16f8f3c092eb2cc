// trellis-data-plane, continued (--proxy): Trellis settings written where they are not read — a config annotation
// set as a label, a pod-only annotation on a Service — and opaque ports that a Service and its pods disagree on
// (the client proxy would detect a protocol the server proxy does not, or the reverse). Warnings, as in Linkerd.
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { DEFAULT_VALUES, portInList } from '@trellis/inject';
import type { CheckContext } from './context.ts';
import { valueAt } from './context.ts';
import { ok, warn, type Check } from './model.ts';

const OPAQUE = 'config.linkerd.io/opaque-ports';
/** Keys Trellis reads only as annotations. */
const isConfigKey = (k: string) => k === 'linkerd.io/inject' || k.startsWith('config.linkerd.io/') || k.startsWith('config.alpha.linkerd.io/');
/** Of those, the ones that mean something on a Service. */
const SERVICE_ANNOTATIONS = new Set([OPAQUE]);

const where = (o: { metadata?: { name?: string; namespace?: string } }, kind: string) => `${kind}/${o.metadata?.name} (${o.metadata?.namespace})`;

async function meshedPods(ctx: CheckContext): Promise<V1Pod[]> {
  return (await ctx.cluster.pods(ctx.options.dataPlaneNamespace, `linkerd.io/control-plane-ns=${ctx.ns}`)).filter((p) => !p.metadata?.labels?.['linkerd.io/control-plane-component'] && !p.metadata?.deletionTimestamp);
}

async function services(ctx: CheckContext): Promise<V1Service[]> {
  const ns = ctx.options.dataPlaneNamespace;
  return (ns ? await ctx.cluster.core.listNamespacedService({ namespace: ns }) : await ctx.cluster.core.listServiceForAllNamespaces()).items;
}

function misplacedLabels(objects: readonly { metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } }[], kind: string): string[] {
  return objects.flatMap((o) => Object.keys(o.metadata?.labels ?? {}).filter(isConfigKey).map((k) => `${where(o, kind)}: label ${k}`));
}

const selects = (svc: V1Service, pod: V1Pod) => {
  const sel = svc.spec?.selector;
  if (!sel || Object.keys(sel).length === 0 || svc.metadata?.namespace !== pod.metadata?.namespace) return false;
  return Object.entries(sel).every(([k, v]) => pod.metadata?.labels?.[k] === v);
};

/** The container port a Service port sends to on this pod (targetPort by number or by name, else port). */
function targetOn(pod: V1Pod, port: { port: number; targetPort?: number | string }): number | undefined {
  const t = port.targetPort;
  if (typeof t === 'number') return t;
  if (typeof t === 'string' && t !== '') {
    if (/^\d+$/.test(t)) return Number(t);
    for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === t) return p.containerPort;
    return undefined;
  }
  return port.port;
}

/** A port list as the proxies read it: numbers and ranges, and names resolved against the pod's container ports. */
function opaqueOn(list: string, pod: V1Pod | undefined, port: number): boolean {
  if (portInList(port, list)) return true;
  const names = list.split(',').map((s) => s.trim());
  return (pod?.spec?.containers ?? []).some((c) => (c.ports ?? []).some((p) => p.containerPort === port && p.name !== undefined && names.includes(p.name)));
}

export const dataPlaneAnnotationChecks: readonly Check<CheckContext>[] = [
  {
    description: 'data plane pod labels are configured correctly',
    run: async (ctx) => {
      const bad = misplacedLabels(await meshedPods(ctx), 'pod');
      return bad.length ? warn(`labels that Trellis reads only as annotations:\n${bad.join('\n')}`, 'move them to metadata.annotations of the pod template') : ok;
    },
  },
  {
    description: 'data plane service labels are configured correctly',
    run: async (ctx) => {
      const bad = misplacedLabels(await services(ctx), 'service');
      return bad.length ? warn(`labels that Trellis reads only as annotations:\n${bad.join('\n')}`, `move them to the Service's metadata.annotations`) : ok;
    },
  },
  {
    description: 'data plane service annotations are configured correctly',
    run: async (ctx) => {
      const bad = (await services(ctx)).flatMap((s) =>
        Object.keys(s.metadata?.annotations ?? {})
          .filter((k) => isConfigKey(k) && !SERVICE_ANNOTATIONS.has(k))
          .map((k) => `${where(s, 'service')}: annotation ${k}`),
      );
      return bad.length ? warn(`annotations that only pods read (a Service takes only ${[...SERVICE_ANNOTATIONS].join(', ')}):\n${bad.join('\n')}`, 'set them on the pod template, or on the namespace') : ok;
    },
  },
  {
    description: 'opaque ports are properly annotated',
    run: async (ctx) => {
      const defaults = String(valueAt(ctx.values, 'proxy.opaquePorts') ?? DEFAULT_VALUES.proxy.opaquePorts);
      const pods = await meshedPods(ctx);
      const problems: string[] = [];
      for (const svc of await services(ctx)) {
        const svcList = svc.metadata?.annotations?.[OPAQUE] ?? defaults;
        for (const pod of pods.filter((p) => selects(svc, p))) {
          const podList = pod.metadata?.annotations?.[OPAQUE] ?? defaults;
          for (const sp of svc.spec?.ports ?? []) {
            const target = targetOn(pod, sp);
            if (target === undefined) continue;
            const svcOpaque = opaqueOn(svcList, undefined, sp.port) || (typeof sp.targetPort === 'number' && portInList(sp.targetPort, svcList));
            const podOpaque = opaqueOn(podList, pod, target);
            if (svcOpaque && !podOpaque) problems.push(`${where(svc, 'service')} marks port ${sp.port} opaque, but ${where(pod, 'pod')} does not mark its target port ${target} opaque`);
            if (!svcOpaque && podOpaque) problems.push(`${where(pod, 'pod')} marks port ${target} opaque, but ${where(svc, 'service')} does not mark port ${sp.port} opaque`);
          }
        }
      }
      return problems.length ? warn(problems.join('\n'), `use the same ${OPAQUE} annotation on the Service and on its pods' template`) : ok;
    },
  },
];
