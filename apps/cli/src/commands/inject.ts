// `trellis inject`: annotates workloads for the webhook (like `linkerd inject`), or with --manual adds the full
// sidecar through @trellis/inject. Reads files, directories and stdin; writes YAML (or JSON) on stdout and one
// line per object on stderr in Linkerd's style: `deployment "emoji" injected`.
import { readFile } from 'node:fs/promises';
import { ConfigError, parseCommandLine, parseEnum, type CommandSpec, type FlagSpec } from '@trellis/config';
import {
  A,
  applyAnnotations,
  applyPatch,
  DEFAULT_VALUES,
  inject,
  INJECT,
  isPlainObject,
  podTemplateOf,
  resolveValues,
  SKIP_REASON_TEXT,
  type Values,
} from '@trellis/inject';
import { parse as parseYaml } from 'yaml';
import { fetchClusterValues } from '../cluster/values.ts';
import { readSources } from '../manifests/read.ts';
import { describeObject, mapObjects } from '../manifests/visit.ts';
import { formatManifests, type OutputFormat } from '../manifests/write.ts';
import type { CommandIo } from './io.ts';
import { clusterSelection, controlPlaneNamespace, GLOBAL_FLAGS } from '../cluster/kubeconfig.ts';

/** Flags that become config annotations on the pod template: [flag, annotation, spec]. */
const ANNOTATION_FLAGS: readonly (readonly [string, string, FlagSpec])[] = [
  ['proxy-image', A.proxyImage, { type: 'string', description: 'proxy container image name' }],
  ['proxy-version', A.proxyVersion, { type: 'string', description: 'proxy image tag' }],
  ['init-image', A.initImage, { type: 'string', description: 'proxy-init container image name' }],
  ['init-image-version', A.initImageVersion, { type: 'string', description: 'proxy-init image tag' }],
  ['image-pull-policy', A.imagePullPolicy, { type: 'string', description: 'pull policy of the proxy and proxy-init images (Always, IfNotPresent, Never)' }],
  ['inbound-port', A.inboundPort, { type: 'string', description: 'proxy inbound port' }],
  ['outbound-port', A.outboundPort, { type: 'string', description: 'proxy outbound port' }],
  ['admin-port', A.adminPort, { type: 'string', description: 'proxy admin port' }],
  ['control-port', A.controlPort, { type: 'string', description: 'proxy control (tap) port' }],
  ['skip-inbound-ports', A.skipInboundPorts, { type: 'list', description: 'inbound ports and ranges that bypass the proxy', value: 'PORTS' }],
  ['skip-outbound-ports', A.skipOutboundPorts, { type: 'list', description: 'outbound ports and ranges that bypass the proxy', value: 'PORTS' }],
  ['skip-subnets', A.skipSubnets, { type: 'list', description: 'CIDRs whose traffic bypasses the proxy', value: 'CIDRS' }],
  ['opaque-ports', A.opaquePorts, { type: 'list', description: 'ports, ranges or port names where protocol detection is skipped', value: 'PORTS' }],
  ['require-identity-on-inbound-ports', A.requireIdentityInboundPorts, { type: 'list', description: 'inbound ports that only accept meshed (mTLS) clients', value: 'PORTS' }],
  ['proxy-uid', A.proxyUid, { type: 'string', description: 'user id the proxy runs as' }],
  ['proxy-gid', A.proxyGid, { type: 'string', description: 'group id the proxy runs as' }],
  ['proxy-log-level', A.logLevel, { type: 'string', description: 'proxy log level, e.g. warn,linkerd=info' }],
  ['proxy-log-format', A.logFormat, { type: 'string', description: 'proxy log format (plain, json)' }],
  ['proxy-cpu-request', A.cpuRequest, { type: 'string', description: 'proxy CPU request' }],
  ['proxy-cpu-limit', A.cpuLimit, { type: 'string', description: 'proxy CPU limit' }],
  ['proxy-memory-request', A.memoryRequest, { type: 'string', description: 'proxy memory request' }],
  ['proxy-memory-limit', A.memoryLimit, { type: 'string', description: 'proxy memory limit' }],
  ['default-inbound-policy', A.defaultInboundPolicy, { type: 'string', description: 'inbound policy when no Server matches' }],
  ['enable-external-profiles', A.enableExternalProfiles, { type: 'boolean', description: 'look up ServiceProfiles for names outside the cluster' }],
  ['enable-debug-sidecar', A.enableDebugSidecar, { type: 'boolean', description: 'add the debug container' }],
  ['native-sidecar', A.nativeSidecar, { type: 'boolean', description: 'run the proxy as a native sidecar (init container with restartPolicy Always)' }],
  ['wait-before-exit-seconds', A.waitBeforeExitSeconds, { type: 'string', description: 'seconds the proxy waits before exiting (non-native sidecar)' }],
  ['close-wait-timeout', A.closeWaitTimeout, { type: 'string', description: 'conntrack CLOSE_WAIT timeout set by proxy-init (makes it privileged)' }],
];

export const INJECT_SPEC: CommandSpec = {
  name: 'trellis inject',
  summary: 'Add the Trellis proxy to Kubernetes manifests (files, directories, or - for stdin).',
  allowPositionals: true,
  flags: {
    manual: { type: 'boolean', description: 'add the proxy and proxy-init containers instead of the annotation the webhook acts on' },
    ingress: { type: 'boolean', description: 'mesh an ingress controller (linkerd.io/inject: ingress)' },
    ...Object.fromEntries(ANNOTATION_FLAGS.map(([flag, , spec]) => [flag, spec])),
    output: { type: 'string', short: 'o', description: 'output format (yaml, json)', default: 'yaml' },
    values: { type: 'string', description: '--manual: a values file laid over the cluster\'s (or the default) values', value: 'FILE' },
    'identity-trust-anchors-file': { type: 'string', description: '--manual: PEM trust anchors the proxy should use', value: 'FILE' },
    'ignore-cluster': { type: 'boolean', description: '--manual: do not read the trellis-config ConfigMap; use default values' },
  },
  globalFlags: GLOBAL_FLAGS,
  args: 'FILE|DIR|-...',
  epilog: 'Example:\n  kubectl get -n emojivoto deploy -o yaml | trellis inject - | kubectl apply -f -',
};

/** Annotations the flags ask for, validated with the same rules the injector applies. */
function flagAnnotations(values: Readonly<Record<string, unknown>>, explicit: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [flag, key] of ANNOTATION_FLAGS) {
    if (!explicit.has(flag)) continue;
    const raw = values[flag];
    const text = Array.isArray(raw) ? raw.join(',') : String(raw);
    const { warnings } = applyAnnotations(DEFAULT_VALUES, { [key]: text }, {});
    if (warnings.length > 0) throw new ConfigError(`invalid value ${JSON.stringify(text)} for --${flag}: ${warnings[0]}`);
    out[key] = text;
  }
  return out;
}

async function manualValues(opts: Readonly<Record<string, unknown>>): Promise<Values> {
  let doc: Record<string, unknown> = {};
  if (opts['ignore-cluster'] !== true) {
    const fetched = await fetchClusterValues({
      namespace: controlPlaneNamespace(opts),
      ...clusterSelection(opts),
    });
    if (isPlainObject(fetched)) doc = fetched;
  }
  if (typeof opts['values'] === 'string') {
    const path = opts['values'];
    let parsed: unknown;
    try {
      parsed = parseYaml(await readFile(path, 'utf8'));
    } catch (err) {
      throw new ConfigError(`cannot read --values ${path}: ${(err as Error).message.split('\n')[0]}`);
    }
    if (parsed !== null && !isPlainObject(parsed)) throw new ConfigError(`--values ${path}: expected a YAML mapping`);
    doc = deepMerge(doc, (parsed ?? {}) as Record<string, unknown>);
  }
  if (typeof opts['identity-trust-anchors-file'] === 'string') {
    const path = opts['identity-trust-anchors-file'];
    try {
      doc = { ...doc, identityTrustAnchorsPEM: await readFile(path, 'utf8') };
    } catch (err) {
      throw new ConfigError(`cannot read --identity-trust-anchors-file ${path}: ${(err as Error).message}`);
    }
  }
  return resolveValues(doc);
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

/** The object holding the pod template's metadata and spec: the Pod itself, or the workload's template. */
function templateHolder(obj: Record<string, unknown>): Record<string, unknown> | undefined {
  const t = podTemplateOf(obj);
  if (!t) return undefined;
  let cur: unknown = obj;
  for (const seg of t.prefix.split('/').filter(Boolean)) cur = isPlainObject(cur) ? cur[seg] : undefined;
  return isPlainObject(cur) ? cur : undefined;
}

/** A copy of the object with annotations set on its pod template (metadata and the map created when missing). */
function withTemplateAnnotations(obj: Record<string, unknown>, annotations: Record<string, string>): Record<string, unknown> {
  const copy = structuredClone(obj);
  const holder = templateHolder(copy);
  if (!holder) return copy;
  const meta = isPlainObject(holder['metadata']) ? holder['metadata'] : (holder['metadata'] = {});
  meta['annotations'] = { ...(isPlainObject(meta['annotations']) ? meta['annotations'] : {}), ...annotations };
  return copy;
}

export async function runInject(argv: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseCommandLine(INJECT_SPEC, argv, io.stdout);
  if (parsed.kind === 'exit') return parsed.code;
  const opts = parsed.values;
  if (parsed.positionals.length === 0) throw new ConfigError('no input: give files, directories, or - for stdin (see trellis inject --help)');
  const format = parseEnum('--output', String(opts['output']), ['yaml', 'json'] as const) as OutputFormat;
  const manual = opts['manual'] === true;
  const annotations = flagAnnotations(opts, parsed.explicit);
  const mode = opts['ingress'] === true ? 'ingress' : 'enabled';
  const values = manual ? await manualValues(opts) : DEFAULT_VALUES;
  const cpNamespace = controlPlaneNamespace(opts);

  const manifests = await readSources(parsed.positionals, () => io.readStdin());
  const lines: string[] = [];
  const out = manifests.map((m) =>
    mapObjects(m.object, (obj) => {
      const { kind, name } = describeObject(obj);
      if (!isPlainObject(obj)) return obj;
      if (kind === 'namespace') {
        // A namespace is annotated so that every pod created in it is injected by the webhook.
        const copy = structuredClone(obj);
        const meta = isPlainObject(copy['metadata']) ? copy['metadata'] : (copy['metadata'] = {});
        meta['annotations'] = { ...(isPlainObject(meta['annotations']) ? meta['annotations'] : {}), [INJECT]: mode, ...annotations };
        lines.push(`namespace "${name}" annotated`);
        return copy;
      }
      // The decision is the CLI's: namespace annotations are not consulted, the workload's own "disabled" is.
      const probe = inject({ object: obj, values, origin: 'cli', controlPlaneNamespace: cpNamespace });
      if (!probe.injected) {
        lines.push(`${kind} "${name}" skipped: ${probe.reasons.map((r) => SKIP_REASON_TEXT[r]).join('; ')}`);
        return obj;
      }
      const annotated = withTemplateAnnotations(obj, manual ? (mode === 'ingress' ? { [INJECT]: mode, ...annotations } : annotations) : { [INJECT]: mode, ...annotations });
      if (!manual) {
        lines.push(`${kind} "${name}" injected`);
        return annotated;
      }
      const result = inject({ object: annotated, values, origin: 'cli', controlPlaneNamespace: cpNamespace });
      for (const w of result.warnings) lines.push(`warning: ${kind} "${name}": ${w}`);
      lines.push(`${kind} "${name}" injected`);
      return applyPatch(annotated, result.patch);
    }),
  );
  io.stdout.write(formatManifests(out, format));
  if (lines.length > 0) io.stderr.write(lines.join('\n') + '\n\n');
  return 0;
}
