import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VERSION } from '@trellis/config';
import { describe, expect, it } from 'vitest';
import { A, CONFIG_KEYS } from './annotations.ts';
import { inject, trustRootSha256, type InjectRequest } from './inject.ts';
import { applyPatch } from './json-patch.ts';
import { golden } from './testing/golden.ts';
import { DEFAULT_VALUES, resolveValues } from './values.ts';
import { podTemplateOf } from './workload.ts';

const testdata = join(import.meta.dirname, '..', 'testdata');
const ANCHORS = '-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n';

interface Case {
  description: string;
  request: Omit<InjectRequest, 'values'> & { values?: Record<string, unknown> };
}

function run(c: Case['request']) {
  const values = resolveValues({ linkerdVersion: 'v-test', identityTrustAnchorsPEM: ANCHORS, ...(c.values ?? {}) });
  return inject({ ...c, values, version: 'v-test' });
}

const cases = readdirSync(join(testdata, 'cases'))
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(testdata, 'cases', f), 'utf8')) as Case] as const);

describe('golden patches', () => {
  it.each(cases)('%s', (name, c) => {
    const result = run(c.request);
    const rendered = {
      description: c.description,
      injected: result.injected,
      reasons: result.reasons,
      annotationAt: result.annotationAt,
      warnings: result.warnings,
      patch: result.patch,
    };
    expect(rendered).toEqual(golden(join(testdata, 'golden', `${name}.json`), rendered));
    // Every patch applies cleanly to the object it was made for.
    expect(() => applyPatch(c.request.object, result.patch)).not.toThrow();
  });
});

/** Flattens a patched pod into name-keyed maps so a diff between two pods reads as "what this annotation changed". */
function normalize(obj: unknown): Record<string, unknown> {
  const t = podTemplateOf(obj as Record<string, unknown>);
  if (!t) throw new Error('no pod template');
  const byName = (list: unknown) =>
    Object.fromEntries(
      ((list as Record<string, unknown>[] | undefined) ?? []).map((c) => {
        const env = Array.isArray(c['env']) ? Object.fromEntries((c['env'] as { name: string }[]).map((e) => [e.name, e])) : undefined;
        return [String(c['name']), env ? { ...c, env } : c];
      }),
    );
  return {
    annotations: t.meta?.annotations ?? {},
    labels: t.meta?.labels ?? {},
    initContainers: byName(t.spec.initContainers),
    containers: byName(t.spec.containers),
    volumes: byName(t.spec.volumes),
  };
}

function diff(a: unknown, b: unknown, path = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) diff(a[k], b[k], path ? `${path}.${k}` : k, out);
  } else if (JSON.stringify(a) !== JSON.stringify(b)) {
    out[path] = { from: a ?? null, to: b ?? null };
  }
  return out;
}

// One row per config annotation: the value set on the pod, and the golden records what changed against the defaults.
const ANNOTATION_CASES: readonly (readonly [string, string])[] = [
  [A.proxyImage, 'registry.example/trellis/proxy'],
  [A.proxyVersion, 'v9.9.9'],
  [A.imagePullPolicy, 'Always'],
  [A.initImage, 'registry.example/trellis/proxy-init'],
  [A.initImageVersion, 'v8.8.8'],
  [A.controlPort, '5190'],
  [A.inboundPort, '5143'],
  [A.adminPort, '5191'],
  [A.outboundPort, '5140'],
  [A.podInboundPorts, '8080'],
  [A.skipInboundPorts, '9000,9100-9200'],
  [A.skipOutboundPorts, '443,6443'],
  [A.skipSubnets, '10.1.0.0/16,fd00:1::/64'],
  [A.opaquePorts, 'grpc,4000-4100'],
  [A.cpuRequest, '1500m'],
  [A.cpuLimit, '3'],
  [A.cpuRatioLimit, '0.25'],
  [A.memoryRequest, '20Mi'],
  [A.memoryLimit, '250Mi'],
  [A.ephemeralStorageRequest, '1Gi'],
  [A.ephemeralStorageLimit, '2Gi'],
  [A.proxyUid, '3000'],
  [A.proxyGid, '3001'],
  [A.logLevel, 'debug'],
  [A.logFormat, 'json'],
  [A.logHttpHeaders, 'insecure'],
  [A.accessLog, 'apache'],
  [A.adminShutdown, 'enabled'],
  [A.enableExternalProfiles, 'true'],
  [A.requireIdentityInboundPorts, '8080'],
  [A.metricsHostnameLabels, 'true'],
  [A.outboundConnectTimeout, '2s'],
  [A.inboundConnectTimeout, '250ms'],
  [A.outboundDiscoveryCacheUnusedTimeout, '1m'],
  [A.inboundDiscoveryCacheUnusedTimeout, '2m'],
  [A.disableOutboundDetectTimeout, 'true'],
  [A.disableInboundDetectTimeout, 'true'],
  [A.shutdownGracePeriod, '30s'],
  [A.proxyAwait, 'disabled'],
  [A.defaultInboundPolicy, 'deny'],
  [A.enableGateway, 'true'],
  [A.enableDebugSidecar, 'true'],
  [A.debugImage, 'registry.example/debug'],
  [A.debugImageVersion, 'v7'],
  [A.debugImagePullPolicy, 'Never'],
  [A.closeWaitTimeout, '2m'],
  [A.nativeSidecar, 'false'],
  [A.nativeSidecarAlpha, 'false'],
  [A.nativeSidecarBeta, 'false'],
  [A.waitBeforeExitSeconds, '15'],
  [A.additionalEnv, '[{"name":"EXTRA","value":"1"}]'],
  [A.traceCollector, 'collector.tracing.svc.cluster.local:4317'],
  // Alone it changes nothing: it names the identity of a collector that another setting turns on.
  [A.traceCollectorServiceAccount, 'collector'],
];

describe('each config annotation', () => {
  const pod = JSON.parse(readFileSync(join(testdata, 'cases', 'kind-pod.json'), 'utf8')) as Case;
  const patched = (annotations: Record<string, string>) => {
    const obj = structuredClone(pod.request.object) as { metadata: { annotations: Record<string, string> } };
    Object.assign(obj.metadata.annotations, annotations);
    const result = run({ ...pod.request, object: obj });
    expect(result.warnings).toEqual([]);
    return normalize(applyPatch(obj, result.patch));
  };
  const base = patched({});

  it('covers every annotation key the injector knows', () => {
    expect(ANNOTATION_CASES.map(([k]) => k).sort()).toEqual([...CONFIG_KEYS].sort());
  });

  it('changes exactly what the golden file records for each annotation', () => {
    const all: Record<string, unknown> = {};
    for (const [key, value] of ANNOTATION_CASES) {
      const changes = diff(base, patched({ [key]: value }));
      delete changes[`annotations.${key}`];
      all[`${key}=${value}`] = changes;
    }
    // Every row must change the pod, except keys that only act together with another setting: the debug image keys
    // (debug sidecar, tested below) and wait-before-exit (non-native sidecars only; golden case sidecar-non-native-no-await).
    const inert = new Set<string>([A.debugImage, A.debugImageVersion, A.debugImagePullPolicy, A.waitBeforeExitSeconds, A.traceCollectorServiceAccount]);
    for (const [key, value] of ANNOTATION_CASES) {
      if (!inert.has(key)) expect(Object.keys(all[`${key}=${value}`] as object).length, key).toBeGreaterThan(0);
    }
    expect(all).toEqual(golden(join(testdata, 'golden', 'annotations.json'), all));
  });

  it('applies the debug image keys to the debug sidecar', () => {
    const pod = patched({ [A.enableDebugSidecar]: 'true', [A.debugImage]: 'registry.example/debug', [A.debugImageVersion]: 'v7', [A.debugImagePullPolicy]: 'Never' });
    expect((pod['containers'] as Record<string, unknown>)['linkerd-debug']).toMatchObject({ image: 'registry.example/debug:v7', imagePullPolicy: 'Never' });
  });
});

describe('defaults', () => {
  it('uses trellis/proxy and trellis/proxy-init images tagged with the release version', () => {
    const c = JSON.parse(readFileSync(join(testdata, 'cases', 'kind-pod.json'), 'utf8')) as Case;
    const result = inject({ ...c.request, values: DEFAULT_VALUES } as InjectRequest);
    const pod = applyPatch(c.request.object, result.patch) as { spec: { initContainers: { name: string; image: string }[] }; metadata: { annotations: Record<string, string> } };
    expect(pod.spec.initContainers.map((x) => [x.name, x.image])).toEqual([
      ['linkerd-init', `trellis/proxy-init:${VERSION}`],
      ['linkerd-proxy', `trellis/proxy:${VERSION}`],
    ]);
    expect(pod.metadata.annotations['linkerd.io/created-by']).toBe(`trellis/proxy-injector ${VERSION}`);
    expect(pod.metadata.annotations['linkerd.io/trust-root-sha256']).toBe(trustRootSha256(''));
  });

  it('builds control-plane addresses from the control-plane namespace and cluster domain', () => {
    const c = JSON.parse(readFileSync(join(testdata, 'cases', 'kind-pod.json'), 'utf8')) as Case;
    const values = resolveValues({ clusterDomain: 'example.org', identityTrustDomain: 'td.example' });
    const result = inject({ ...c.request, values, controlPlaneNamespace: 'mesh' } as InjectRequest);
    const pod = normalize(applyPatch(c.request.object, result.patch));
    const env = ((pod['initContainers'] as Record<string, { env: Record<string, { value?: string }> }>)['linkerd-proxy'] as { env: Record<string, { value?: string }> }).env;
    expect(env['LINKERD2_PROXY_DESTINATION_SVC_ADDR']?.value).toBe('trellis-dst-headless.mesh.svc.example.org.:8086');
    expect(env['LINKERD2_PROXY_POLICY_SVC_ADDR']?.value).toBe('trellis-policy.mesh.svc.example.org.:8090');
    expect(env['LINKERD2_PROXY_IDENTITY_SVC_ADDR']?.value).toBe('trellis-identity-headless.mesh.svc.example.org.:8080');
    expect(env['LINKERD2_PROXY_IDENTITY_LOCAL_NAME']?.value).toBe('$(_pod_sa).$(_pod_ns).serviceaccount.identity.mesh.td.example');
    expect(env['LINKERD2_PROXY_DESTINATION_PROFILE_SUFFIXES']?.value).toBe('svc.example.org.');
  });

  it('reports an object that is not a JSON object as unsupported', () => {
    expect(inject({ object: 'nope', values: DEFAULT_VALUES, origin: 'webhook' })).toMatchObject({ injected: false, reasons: ['unsupported_resource'], patch: [] });
  });
});
