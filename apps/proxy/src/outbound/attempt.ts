// The attempt of the one attempt-and-relay: one try of a request on an endpoint the balancer picked, whatever
// route chose it. It refuses an endpoint whose identity is not the one l5d-require-id names (502, as Linkerd's
// endpoint stack), sends through the endpoint client, and settles on the response head or the error. InFlight
// keeps what a request has in flight (a pick being waited for, an attempt being sent) so the client going away,
// or a timeout, stops it and gives the endpoint back to its balancer.
import type { Downstream, Headers } from '../http/exchange.ts';
import type { Body, EndpointClient, MeshPick, Sent, UpResponse } from './endpoint-client.ts';
import { L5D_REQUIRE_ID, requiredIdentity } from './require-id.ts';

/** Thrown into an attempt whose exchange ended (client gone, timeout) before it was sent. */
export class ExchangeEndedError extends Error {
  constructor() {
    super('the request ended before it was sent');
  }
}

export class InFlight {
  readonly #d: Downstream;
  #sent: Sent | UpResponse | undefined;
  #pick: MeshPick | undefined;

  constructor(d: Downstream) {
    this.#d = d;
    d.onGone(() => {
      this.cancel();
      d.ex.errorLabel = 'i/o';
      d.ex.finish();
    });
    // Ended without its response (a synthesized answer, a reset): whatever is still in flight stops.
    d.ex.onFinish((e) => {
      if (this.#pick !== undefined || e.errorLabel !== '' || e.status === 0) this.cancel();
    });
  }

  /** Waits for a pick; one that comes after the exchange ended goes straight back. */
  pick(pick: () => Promise<MeshPick>): Promise<MeshPick> {
    return pick().then((p) => {
      if (this.#d.ex.finished) {
        p.done(false);
        throw new ExchangeEndedError();
      }
      this.#pick = p;
      return p;
    });
  }

  /** The attempt being sent (before its head) or answered (after). */
  track(s: Sent | UpResponse | undefined): void {
    this.#sent = s;
  }

  /** The attempt's response is being relayed: its pick is the relay's to settle (relay.ts). */
  settled(): void {
    this.#pick = undefined;
  }

  /** Gives `p` back to its balancer, unless it went back already (a cancel). */
  release(p: MeshPick, ok: boolean): void {
    if (this.#pick !== p) return;
    this.#pick = undefined;
    p.done(ok);
  }

  /** Stops whatever is in flight and gives its endpoint back. */
  cancel(): void {
    this.#sent?.cancel();
    this.#sent = undefined;
    this.#pick?.done(false);
    this.#pick = undefined;
  }
}

/** One attempt of `d` with `headers` and `body` on `p`'s endpoint: its response head, or the error before it. */
export function sendAttempt(d: Downstream, client: EndpointClient, p: MeshPick, headers: Headers, body: Body, flight: InFlight, onRequestEnd?: () => void): Promise<UpResponse> {
  const refused = requiredIdentity(d.headers[L5D_REQUIRE_ID], p.me);
  if (refused) {
    flight.release(p, true);
    return Promise.reject(refused);
  }
  return new Promise((resolve, reject) => {
    const sent = client.send(p.me, d, headers, body, {
      response: (res) => {
        flight.track(res);
        resolve(res);
      },
      error: (err) => {
        flight.release(p, false);
        reject(err);
      },
      requestEnd: onRequestEnd ?? noop,
    });
    flight.track(sent);
  });
}

function noop(): void {
  // nothing to do when the request has been sent
}
