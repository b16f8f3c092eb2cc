// What destination answered, as `linkerd diagnostics` prints it: endpoints as a table (or JSON), profiles and
// policies as the proto messages in their JSON mapping, in YAML or JSON.
import { tcpAddressToString, type destination } from '@trellis/proto';
import { stringify } from 'yaml';

export interface EndpointRow {
  readonly namespace: string;
  readonly ip: string;
  readonly port: number;
  readonly pod: string;
  readonly service: string;
  readonly weight: number;
  /** The TLS identity the proxy would require of this endpoint; empty when it would not originate mTLS. */
  readonly identity: string;
  readonly protocolHint: string;
}

export function endpointRows(update: destination.Update): EndpointRow[] {
  if (update.update?.$case !== 'add') return [];
  const set = update.update.value;
  const namespace = set.metricLabels['namespace'] ?? '';
  const service = set.metricLabels['service'] ? `${set.metricLabels['service']}.${namespace}` : '';
  return set.addrs
    .map((a) => {
      const text = a.addr ? tcpAddressToString(a.addr) : '';
      const at = text.lastIndexOf(':');
      const id = a.tlsIdentity?.strategy;
      const hint = a.protocolHint?.protocol?.$case ?? '';
      return {
        namespace,
        ip: text.slice(0, at).replace(/^\[|\]$/g, ''),
        port: Number(text.slice(at + 1)),
        pod: a.metricLabels['pod'] ?? '',
        service,
        weight: a.weight,
        identity: id?.$case === 'dnsLikeIdentity' ? id.value.name : id?.$case === 'uriLikeIdentity' ? id.value.uri : '',
        protocolHint: a.protocolHint?.opaqueTransport ? `${hint || 'opaque-transport'}` : hint,
      };
    })
    .sort((a, b) => a.pod.localeCompare(b.pod) || a.ip.localeCompare(b.ip));
}

export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join('   ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** Linkerd's columns. */
export function renderEndpoints(rows: readonly EndpointRow[]): string {
  return renderTable(['NAMESPACE', 'IP', 'PORT', 'POD', 'SERVICE'], rows.map((r) => [r.namespace, r.ip, String(r.port), r.pod, r.service]));
}

/** A proto message (its JSON mapping) as YAML or JSON. */
export function renderMessage(json: unknown, output: 'yaml' | 'json'): string {
  return output === 'json' ? `${JSON.stringify(json, null, 2)}\n` : stringify(json, { lineWidth: 0 });
}
