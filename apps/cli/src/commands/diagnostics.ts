// `trellis diagnostics proxy-metrics`: the raw /metrics of each proxy of a resource, read through the API server
// (Linkerd port-forwards; this works wherever kubectl does).
import { ConfigError, parseCommandLine, type CommandSpec } from '@trellis/config';
import { isMeshed, parseResource, proxyAdminGet, resourcePods } from '../viz/pods.ts';
import type { CommandIo } from './io.ts';
import { clusterSelection, GLOBAL_FLAGS, loadCluster, targetNamespace } from '../cluster/kubeconfig.ts';

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

export async function runDiagnostics(argv: readonly string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'proxy-metrics') return runProxyMetrics(rest, io);
  io.stderr.write(`trellis diagnostics: ${sub === undefined ? 'expected a subcommand' : `unknown subcommand ${JSON.stringify(sub)}`}\n\nUsage: trellis diagnostics proxy-metrics TYPE/NAME [-n NAMESPACE]\n`);
  return 1;
}
