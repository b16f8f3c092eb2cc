// `trellis diagnostics proxy-metrics` and `controller-metrics`: the raw /metrics of each proxy of a resource, or of
// each control-plane container's admin port, read through the API server (Linkerd port-forwards; this works
// wherever kubectl does).
import { ConfigError, parseCommandLine, type CommandSpec } from '@trellis/config';
import { CoreV1Api } from '@kubernetes/client-node';
import { isMeshed, parseResource, podPortGet, proxyAdminGet, resourcePods } from '../viz/pods.ts';
import type { CommandIo } from './io.ts';
import { clusterSelection, controlPlaneNamespace, GLOBAL_FLAGS, loadCluster, targetNamespace } from '../cluster/kubeconfig.ts';

export const PROXY_METRICS_SPEC: CommandSpec = {
  name: 'trellis diagnostics proxy-metrics',
  summary: "Print the metrics of a resource's proxies: TYPE/NAME (deploy, sts, ds, po).",
  allowPositionals: true,
  flags: {
  },
  globalFlags: GLOBAL_FLAGS,
  args: 'TYPE/NAME',
};

export async function runProxyMetrics(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(PROXY_METRICS_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  if (cl.positionals.length !== 1) throw new ConfigError(`expected one resource such as po/web-abc or deploy/web, got ${cl.positionals.length}`);
  const ref = parseResource(cl.positionals[0] as string);
  if (!ref.name) throw new ConfigError(`name the resource: ${ref.kind === 'pod' ? 'po' : ref.kind}/NAME`);
  const kc = loadCluster(clusterSelection(v));
  const namespace = targetNamespace(v, kc);
  const pods = (await resourcePods(kc, namespace, ref)).flatMap((r) => r.pods).filter(isMeshed);
  if (pods.length === 0) {
    io.stderr.write(`trellis diagnostics proxy-metrics: no meshed pods with a ready proxy for ${cl.positionals[0]} in ${namespace}\n`);
    return 1;
  }
  let failed = 0;
  for (const [i, p] of pods.entries()) {
    const name = p.metadata?.name ?? '';
    try {
      const text = await proxyAdminGet(kc, namespace, name, 'metrics');
      io.stdout.write(`#\n# POD ${name} (${i + 1} of ${pods.length})\n#\n${text.endsWith('\n') ? text : `${text}\n`}`);
    } catch (err) {
      failed++;
      io.stderr.write(`trellis diagnostics proxy-metrics: ${(err as Error).message}\n`);
    }
  }
  return failed ? 1 : 0;
}

export const CONTROLLER_METRICS_SPEC: CommandSpec = {
  name: 'trellis diagnostics controller-metrics',
  summary: "Print the metrics of the control plane's controllers (each container's admin port), read through the API server.",
  flags: {},
  globalFlags: GLOBAL_FLAGS,
};

/** Every control-plane container's admin port (named <component>-admin by the chart), as Linkerd's command reads them. */
export async function runControllerMetrics(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(CONTROLLER_METRICS_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const namespace = controlPlaneNamespace(cl.values);
  const kc = loadCluster(clusterSelection(cl.values));
  const pods = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector: 'linkerd.io/control-plane-component' })).items.filter((p) => p.status?.phase === 'Running');
  const targets = pods
    // The proxies' admin ports are proxy-metrics' business.
    .flatMap((p) => (p.spec?.containers ?? []).filter((c) => c.name !== 'linkerd-proxy').flatMap((c) => (c.ports ?? []).filter((port) => port.name?.endsWith('admin')).map((port) => ({ pod: p.metadata?.name ?? '', container: c.name, port: port.containerPort }))))
    .sort((a, b) => a.pod.localeCompare(b.pod));
  if (targets.length === 0) {
    io.stderr.write(`trellis diagnostics controller-metrics: no running control-plane pod with an admin port in ${namespace}\n`);
    return 1;
  }
  let failed = 0;
  for (const [i, t] of targets.entries()) {
    try {
      const text = await podPortGet(kc, namespace, t.pod, t.port, 'metrics', `the ${t.container} admin port`);
      io.stdout.write(`#\n# POD ${t.pod} (${i + 1} of ${targets.length})\n# CONTAINER ${t.container}\n#\n${text.endsWith('\n') ? text : `${text}\n`}`);
    } catch (err) {
      failed++;
      io.stderr.write(`trellis diagnostics controller-metrics: ${(err as Error).message}\n`);
    }
  }
  return failed ? 1 : 0;
}
