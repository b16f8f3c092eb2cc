// The watch probe: an independent watch on the bench's EndpointSlices through libs/k8s (the same list+watch
// path the destination uses), in its own process, recording when each new endpoint address first arrives.
// Write -> probe is the API server's share (write, etcd, watch fan-out, decode); probe -> stream update is
// then the destination's share (index, diff, fan-out, gRPC) plus the stream client's receive.
import { parseArgs } from 'node:util';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { loadKubeConfig, WatchCache } from '@trellis/k8s';
import { wallMs, type ChildMessage } from './clock.ts';

const { values } = parseArgs({ options: { kubeconfig: { type: 'string' }, namespace: { type: 'string' }, port: { type: 'string' } } });
const port = Number(values.port);
const seen = new Map<string, number>();
type Addresses = { metadata?: { name?: string }; addrs: string[] };
const cache = new WatchCache<V1EndpointSlice, Addresses>(
  loadKubeConfig({ kubeconfig: values.kubeconfig }),
  { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', plural: 'endpointslices', namespace: values.namespace ?? '' },
  { transform: (s) => ({ addrs: (s.endpoints ?? []).flatMap((e) => e.addresses) }) },
);
const record = (o: Addresses) => {
  const at = wallMs();
  for (const a of o.addrs) {
    const k = `${a}:${port}`;
    if (!seen.has(k)) seen.set(k, at);
  }
};
cache.on('add', record);
cache.on('update', record);
const send = (m: ChildMessage) => new Promise<void>((r) => process.send?.(m, undefined, {}, () => r()));
await cache.start();
await send({ type: 'ready' });
process.on('message', (m: { type?: string }) => {
  if (m.type !== 'finish') return;
  void cache.stop();
  void send({ type: 'seen', seen: [...seen] }).then(() => process.exit(0));
});
