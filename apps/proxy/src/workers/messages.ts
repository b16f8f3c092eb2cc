// What the main thread and its worker threads (LINKERD2_PROXY_CORES > 1) say to each other. Everything here is
// structured-cloned by postMessage: certificates (the KeyObject included), tap requests, metric texts.
import type { tap } from '@trellis/proto';
import type { Credentials } from '../identity/credentials.ts';

/** Given to each worker at start. */
export interface WorkerInit {
  readonly index: number;
  /** The --plaintext flag (the environment the worker parses itself). */
  readonly plaintext: boolean;
  /** The ports the main thread bound: the workers bind the same ones with SO_REUSEPORT. */
  readonly ports: { readonly outbound: readonly number[]; readonly inbound: number; readonly admin: number };
}

export interface TapErrorInfo {
  readonly code: string;
  readonly grpcStatus: number;
  readonly message: string;
}

export type ToWorker =
  | { readonly t: 'credentials'; readonly creds: Credentials }
  | { readonly t: 'scrape'; readonly id: number }
  | { readonly t: 'log-filter'; readonly filter: string }
  | { readonly t: 'tap-open'; readonly id: number; readonly req: tap.ObserveRequest; readonly base: number; readonly quota: SharedArrayBuffer }
  /** `abort`: the client is too slow, nothing queued is sent; otherwise the part sends what it queued, then ends. */
  | { readonly t: 'tap-close'; readonly id: number; readonly abort: boolean }
  | { readonly t: 'drain' };

export type FromWorker =
  | { readonly t: 'listening' }
  | { readonly t: 'metrics'; readonly id: number; readonly text: string }
  | { readonly t: 'tap-events'; readonly id: number; readonly events: Uint8Array }
  | { readonly t: 'tap-ended'; readonly id: number; readonly err: TapErrorInfo | undefined }
  | { readonly t: 'drained'; readonly clean: boolean };
