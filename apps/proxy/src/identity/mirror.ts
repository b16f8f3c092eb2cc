// A worker thread's identity: the main thread's agent certifies (one key, one Certify per renewal for the whole
// proxy) and posts each certificate to the workers, which publish it here for their TLS and control clients.
import { EventEmitter } from 'node:events';
import type { IdentityAgentEvents } from './agent.ts';
import type { Credentials } from './credentials.ts';

/** What the mesh needs of an identity: the agent's shape, whether it certifies itself or mirrors another's. */
export interface IdentitySource {
  readonly ready: Promise<Credentials>;
  current(): Credentials | undefined;
  on(event: 'credentials', listener: (c: Credentials) => void): unknown;
  stop(): void;
}

export class MirroredIdentity extends EventEmitter<IdentityAgentEvents> implements IdentitySource {
  readonly ready: Promise<Credentials>;
  #current: Credentials | undefined;
  #resolveReady!: (c: Credentials) => void;

  constructor() {
    super();
    this.ready = new Promise((resolve) => {
      this.#resolveReady = resolve;
    });
  }

  current(): Credentials | undefined {
    return this.#current;
  }

  /** A certificate the main thread's agent obtained; older generations than the one held are ignored. */
  publish(c: Credentials): void {
    if (this.#current && this.#current.generation >= c.generation) return;
    const first = this.#current === undefined;
    this.#current = c;
    if (first) this.#resolveReady(c);
    this.emit('credentials', c);
  }

  stop(): void {
    this.removeAllListeners();
  }
}
