// A worker thread's side of LINKERD2_PROXY_CORES > 1: the proxy's data path (outbound and inbound, with their
// policy and discovery watches) on listeners sharing the main thread's ports. The main thread holds identity,
// admin and tap: certificates, scrapes, taps and the drain arrive as messages (messages.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { Registry } from 'prom-client';
import { parseProxyConfig, type ListenAddr } from '../config.ts';
import { defaultResolve, listen, listener, startDataPath } from '../data-path.ts';
import { startMesh } from '../identity/mesh.ts';
import { MirroredIdentity } from '../identity/mirror.ts';
import { createProxyLog } from '../log.ts';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { TapQuota } from '../tap/quota.ts';
import { TapRegistry, type OpenTap } from '../tap/registry.ts';
import { SlowTapClientError } from '../tap/errors.ts';
import type { FromWorker, ToWorker, WorkerInit } from './messages.ts';

export async function runWorker(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('runWorker must run in a worker thread');
  const init = workerData as WorkerInit;
  const post = (m: FromWorker) => port.postMessage(m);
  const cfg = parseProxyConfig(process.env, { plaintext: init.plaintext });
  const log = createProxyLog(cfg.log);
  const logger = log.logger.child({ worker: init.index });
  const registry = new Registry();
  const metrics = new ProxyMetrics();
  const identity = new MirroredIdentity();
  // Messages that come before the mesh is built (the first certificate) are handled as soon as it is.
  port.on('message', (m: ToWorker) => {
    if (m.t === 'credentials') identity.publish(m.creds);
  });
  const mesh = cfg.mesh ? await startMesh(cfg.mesh, { logger, registry, metrics, identity, ...(cfg.inboundIps ? { localIps: cfg.inboundIps } : {}) }) : undefined;
  const taps = new TapRegistry();
  const tc = cfg.trace;
  const spans = tc ? (await import('../trace/exporter.ts')).createSpanSink(tc, { registry, log: logger, ...(mesh && cfg.mesh ? { mesh: { source: mesh.agent, trustAnchorsPem: cfg.mesh.identity.trustAnchorsPem } } : {}) }) : undefined;

  const bind = (addr: ListenAddr, p: number) => {
    const s = listener();
    return listen(s, { ...addr, port: p }, true).then(() => s);
  };
  const outboundServers = await Promise.all(cfg.outboundListenAddrs.map((a, i) => bind(a, init.ports.outbound[i] as number)));
  const inboundServer = await bind(cfg.inboundListenAddr, init.ports.inbound);
  const path = startDataPath(cfg, { logger, registry, metrics, mesh, resolve: defaultResolve, taps, spans, ports: init.ports, outboundServers, inboundServer, thread: init.index });

  const open = new Map<number, OpenTap>();
  port.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'scrape':
        void registry.metrics().then((control) => post({ t: 'metrics', id: m.id, text: path.renderMetrics() + control }));
        return;
      case 'log-filter':
        log.setFilter(m.filter);
        return;
      case 'tap-open': {
        const t = taps.open(
          m.req,
          {
            push: (events) => {
              post({ t: 'tap-events', id: m.id, events });
              return true;
            },
            end: (err) => {
              open.delete(m.id);
              post({ t: 'tap-ended', id: m.id, err: err ? { code: err.code, grpcStatus: err.grpcStatus, message: err.message } : undefined });
            },
          },
          { base: m.base, quota: new TapQuota(0, m.quota) },
        );
        open.set(m.id, t);
        return;
      }
      case 'tap-close':
        open.get(m.id)?.close(m.abort ? new SlowTapClientError(0) : undefined);
        return;
      case 'drain':
        void path.drainAll().then((clean) => {
          mesh?.close();
          void spans?.shutdown().catch(() => undefined);
          post({ t: 'drained', clean });
        });
        return;
      case 'credentials':
        return;
    }
  });
  post({ t: 'listening' });
}
