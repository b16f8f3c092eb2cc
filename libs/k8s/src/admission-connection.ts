// Admission webhooks are called by kube-apiserver, which pools its connections to a webhook's Service. When the pod
// behind a pooled connection vanishes without a reset (its node lost), the next call waits the webhook's whole
// timeoutSeconds on that dead connection before failing open or closed: after a control-plane pod is replaced,
// `kubectl apply` of a policy stalled 10 s and stored the object unvalidated. Answering every review with
// `Connection: close` makes each call dial afresh, so it reaches a live endpoint; reviews are rare enough (object
// writes, pod creations) that the extra TLS handshake costs nothing that matters.
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';

/** Each request on `server` is answered with `Connection: close` and its connection closed after the response. */
export function oneReviewPerConnection(server: HttpServer | HttpsServer): void {
  // First among the listeners: the header must be decided before any handler writes the response.
  server.prependListener('request', (_req, res) => {
    res.shouldKeepAlive = false;
  });
}
