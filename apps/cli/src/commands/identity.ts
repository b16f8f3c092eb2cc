// `trellis identity`: the certificate each meshed pod's proxy holds (subject, SANs, issuer, validity), read as
// `linkerd identity` reads it: through a port-forward to the proxy's inbound port, a TLS handshake that names the
// pod's own identity, and the certificate the proxy answers with.
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { ConfigError, parseCommandLine, parseEnum, type CommandSpec } from '@trellis/config';
import { clusterSelection, GLOBAL_FLAGS, loadCluster, targetNamespace } from '../cluster/kubeconfig.ts';
import { forwardPort } from '../cluster/port-forward.ts';
import { certificateJson, describeCertificate, presentedCertificate, proxyTarget, type CertificateJson } from '../identity/certificate.ts';
import { parseResource, resourcePods } from '../viz/pods.ts';
import type { CommandIo } from './io.ts';

export const IDENTITY_SPEC: CommandSpec = {
  name: 'trellis identity',
  summary: "Print the certificate of each meshed pod's proxy: pod names, TYPE/NAME (deploy, sts, ds, po), or -l.",
  allowPositionals: true,
  flags: {
    selector: { type: 'string', short: 'l', value: 'SELECTOR', description: 'label selector of the pods (e.g. app=web)' },
    output: { type: 'string', short: 'o', description: 'output format (text, json)', default: 'text' },
  },
  globalFlags: GLOBAL_FLAGS,
  args: '[POD | TYPE/NAME ...]',
  epilog: [
    'The certificate is the one the proxy presents on its inbound port, read through a port-forward (the API',
    "server's pods/portforward, as kubectl port-forward) with a TLS handshake naming the pod's identity.",
    '',
    'Example:',
    '  trellis identity -n emojivoto deploy/web',
    '  trellis identity -n emojivoto -l app=voting-svc',
  ].join('\n'),
};

async function selectPods(kc: KubeConfig, namespace: string, args: readonly string[], selector: string | undefined): Promise<V1Pod[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const out: V1Pod[] = [];
  if (selector) out.push(...(await core.listNamespacedPod({ namespace, labelSelector: selector })).items);
  for (const a of args) {
    if (a.includes('/')) out.push(...(await resourcePods(kc, namespace, parseResource(a))).flatMap((r) => r.pods));
    else out.push(await core.readNamespacedPod({ name: a, namespace }));
  }
  const seen = new Set<string>();
  return out.filter((p) => !seen.has(p.metadata?.name ?? '') && seen.add(p.metadata?.name ?? '')).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

async function podCertificate(kc: KubeConfig, namespace: string, pod: V1Pod) {
  const target = proxyTarget(pod);
  if ('reason' in target) throw new Error(target.reason);
  if (pod.status?.phase !== 'Running') throw new Error(`not running (phase ${pod.status?.phase ?? 'unknown'})`);
  const fwd = await forwardPort(kc, namespace, pod.metadata?.name ?? '', target.port);
  try {
    return await presentedCertificate('127.0.0.1', fwd.port, target.identity);
  } catch (err) {
    throw new Error(fwd.lastError() ?? `no certificate from the proxy's port ${target.port} for ${target.identity}: ${(err as Error).message}`);
  } finally {
    await fwd.close();
  }
}

export async function runIdentity(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(IDENTITY_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  const selector = typeof v['selector'] === 'string' && v['selector'] !== '' ? v['selector'] : undefined;
  const output = parseEnum<'text' | 'json'>('--output', String(v['output']), ['text', 'json']);
  if (cl.positionals.length === 0 && !selector) throw new ConfigError('name the pods (POD or TYPE/NAME) or select them with -l');
  const kc = loadCluster(clusterSelection(v));
  const namespace = targetNamespace(v, kc);
  const pods = await selectPods(kc, namespace, cl.positionals, selector);
  if (pods.length === 0) {
    io.stderr.write(`trellis identity: no pods found in ${namespace}${selector ? ` for -l ${selector}` : ''}\n`);
    return 1;
  }
  let failed = 0;
  const json: { pod: string; namespace: string; certificate?: CertificateJson; error?: string }[] = [];
  for (const [i, pod] of pods.entries()) {
    const name = pod.metadata?.name ?? '';
    try {
      const cert = await podCertificate(kc, namespace, pod);
      if (output === 'json') json.push({ pod: name, namespace, certificate: certificateJson(cert) });
      else io.stdout.write(`\nPOD ${name} (${i + 1} of ${pods.length})\n\n${describeCertificate(cert)}`);
    } catch (err) {
      failed++;
      const message = (err as Error).message;
      if (output === 'json') json.push({ pod: name, namespace, error: message });
      io.stderr.write(`trellis identity: ${namespace}/${name}: ${message}\n`);
    }
  }
  if (output === 'json') io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  return failed ? 1 : 0;
}
