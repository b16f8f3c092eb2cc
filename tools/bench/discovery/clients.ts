// The stream clients: N Destination.Get streams spread round-robin over the Services, over a few gRPC
// connections. Every Add after the first update is recorded as (address, arrival time). Runs inside the
// orchestrator (--clients inline) or, by default, as its own process (this file's main), so that the
// clients' CPU does not delay the patch writer's timestamps or the other way round.
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { DestinationClient, tcpAddressToString, type destination } from '@trellis/proto';
import { wallMs, type ChildMessage } from './clock.ts';

export interface StreamOptions {
  readonly port: number;
  readonly services: number;
  readonly streams: number;
  readonly namespace: string;
  readonly connections: number;
}

export interface Streams {
  /** Resolves once every stream has had its first update. */
  readonly ready: Promise<void>;
  /** Each Add of an address on a stream after the first update: (address, arrival time, stream index). */
  readonly deliveries: (readonly [addr: string, atMs: number, stream: number])[];
  streamErrors(): number;
  close(): void;
}

export function openStreams(o: StreamOptions): Streams {
  const channels = Array.from({ length: o.connections }, (_, i) => new DestinationClient(`127.0.0.1:${o.port}`, credentials.createInsecure(), { 'grpc.bench_channel': i }));
  const deliveries: (readonly [string, number, number])[] = [];
  let initial = 0;
  let errors = 0;
  let resolveReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (resolveReady = r));
  for (let i = 0; i < o.streams; i++) {
    const s = i % o.services;
    const call = (channels[i % channels.length] as DestinationClient).get({ scheme: '', path: `svc-${s}.${o.namespace}.svc.cluster.local:80`, contextToken: '' });
    let first = true;
    call.on('data', (u: destination.Update) => {
      if (first) {
        first = false;
        if (++initial === o.streams) resolveReady();
        return;
      }
      if (u.update?.$case !== 'add') return;
      const at = wallMs();
      for (const a of u.update.value.addrs) if (a.addr) deliveries.push([tcpAddressToString(a.addr), at, i]);
    });
    call.on('error', () => errors++);
  }
  return {
    ready,
    deliveries,
    streamErrors: () => errors,
    close: () => {
      for (const c of channels) c.close();
    },
  };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { port: { type: 'string' }, services: { type: 'string' }, streams: { type: 'string' }, namespace: { type: 'string' }, connections: { type: 'string' } } });
  const streams = openStreams({
    port: Number(values.port),
    services: Number(values.services),
    streams: Number(values.streams),
    namespace: values.namespace ?? '',
    connections: Number(values.connections),
  });
  const send = (m: ChildMessage) => new Promise<void>((r) => process.send?.(m, undefined, {}, () => r()));
  await streams.ready;
  await send({ type: 'ready' });
  // 'report': the deliveries so far (the streams stay open for the memory phase); 'finish': close and exit.
  process.on('message', (m: { type?: string }) => {
    if (m.type === 'report') void send({ type: 'deliveries', deliveries: streams.deliveries, streamErrors: streams.streamErrors() });
    if (m.type === 'finish') {
      streams.close();
      process.exit(0);
    }
  });
}
