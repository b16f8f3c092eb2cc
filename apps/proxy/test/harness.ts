// In-process harness: a proxy whose original destination comes from the test instead of SO_ORIGINAL_DST,
// and small upstream servers, all on 127.0.0.1 with port 0.
import { once } from 'node:events';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { parseProxyConfig } from '../src/config.ts';
import { createProxyLog } from '../src/log.ts';
import { startProxy, type RunningProxy } from '../src/proxy.ts';
import type { Destination } from '../src/tcp/accept.ts';

export interface Harness {
  readonly proxy: RunningProxy;
  /** Where the next accepted connection "was going". */
  target: Destination;
  readonly outboundPort: number;
  readonly inboundPort: number;
  readonly adminUrl: string;
  metrics(): Promise<string>;
}

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const cfg = parseProxyConfig({
    TRELLIS_PROXY_PLAINTEXT: 'true',
    LINKERD2_PROXY_OUTBOUND_LISTEN_ADDRS: '127.0.0.1:0',
    LINKERD2_PROXY_INBOUND_LISTEN_ADDR: '127.0.0.1:0',
    LINKERD2_PROXY_ADMIN_LISTEN_ADDR: '127.0.0.1:0',
    LINKERD2_PROXY_LOG: 'off',
    ...env,
  });
  const h: { target: Destination } = { target: { ip: '127.0.0.1', port: 1 } };
  const proxy = await startProxy(cfg, {
    log: createProxyLog('off', { write: () => undefined }),
    env,
    resolve: (_s: Socket) => h.target,
    onShutdownRequest: () => undefined,
  });
  const adminUrl = `http://127.0.0.1:${proxy.admin.port}`;
  return Object.assign(h, {
    proxy,
    outboundPort: (proxy.outbound[0] as AddressInfo).port,
    inboundPort: proxy.inbound.port,
    adminUrl,
    metrics: async () => (await fetch(`${adminUrl}/metrics`)).text(),
  });
}

export async function listenOn(server: NetServer | import('node:http').Server | import('node:http2').Http2Server): Promise<number> {
  (server as NetServer).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return ((server as NetServer).address() as AddressInfo).port;
}

/** Polls `check` until it returns true or the deadline passes. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The value of one series in Prometheus text, by name and a label substring. */
export function sample(text: string, name: string, labelPart: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(labelPart)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}
