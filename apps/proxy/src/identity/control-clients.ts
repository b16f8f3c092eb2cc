// A gRPC client for a control-plane service, rebuilt when our certificate changes so new streams present the
// new one (mTLS verified as the service's `*_SVC_NAME`), or plaintext to a loopback address. Streams already
// open on an old client continue until they end; old clients are closed with the rest. Every call is counted
// in the control_* families when metrics are given.
import { credentials, type ChannelCredentials, type ClientOptions } from '@grpc/grpc-js';
import type { CredentialSource } from '../tls/mesh-tls.ts';
import type { ControlMetrics } from './control-metrics.ts';
import { CONTROL_CHANNEL_OPTIONS, controlChannelCredentials } from './control-tls.ts';
import type { ControlAddr } from './env.ts';

export interface ControlClients<C> {
  /** The client to use for a new stream. */
  get(): C;
  /**
   * Calls back once the current client's channel is connected, or with an error at the deadline. A service
   * reached over mTLS waits for our first certificate first: a client without one is refused by the controller.
   */
  ready(deadline: number, cb: (err?: Error) => void): void;
  close(): void;
}

/** How often a client waiting for our first certificate looks again. */
const CERTIFICATE_POLL_MS = 100;

type Ctor<C> = new (address: string, creds: ChannelCredentials, options?: ClientOptions) => C;

export function controlClients<C extends { close(): void; waitForReady(deadline: number, cb: (err?: Error) => void): void }>(
  Client: Ctor<C>,
  svc: { readonly svcAddr: ControlAddr; readonly svcName: string },
  trustAnchorsPem: string,
  source: CredentialSource,
  metrics?: ControlMetrics,
): ControlClients<C> {
  const interceptors = metrics ? { interceptors: [metrics.interceptor(svc)] } : {};
  let cached: { generation: number; client: C } | undefined;
  const old: C[] = [];
  const get = (): C => {
    if (svc.svcAddr.loopback) {
      cached ??= { generation: 0, client: new Client(svc.svcAddr.text, credentials.createInsecure(), { ...CONTROL_CHANNEL_OPTIONS, ...interceptors }) };
      return cached.client;
    }
    const creds = source.current();
    const generation = creds?.generation ?? -1;
    if (cached?.generation !== generation) {
      if (cached) old.push(cached.client);
      const channel = controlChannelCredentials(trustAnchorsPem, svc.svcName, creds?.tls);
      cached = { generation, client: new Client(svc.svcAddr.text, channel, { ...CONTROL_CHANNEL_OPTIONS, 'grpc.ssl_target_name_override': svc.svcName, 'grpc.default_authority': svc.svcAddr.text, ...interceptors }) };
    }
    return cached.client;
  };
  return {
    get,
    ready(deadline, cb) {
      if (!svc.svcAddr.loopback && !source.current()) {
        setTimeout(() => cb(new Error('no certificate yet')), Math.max(0, Math.min(CERTIFICATE_POLL_MS, deadline - Date.now())));
        return;
      }
      get().waitForReady(deadline, cb);
    },
    close() {
      cached?.client.close();
      for (const c of old.splice(0)) c.close();
    },
  };
}
