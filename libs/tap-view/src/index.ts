// What `viz tap` and `viz top` show of tap events, for the CLI and the dashboard's browser page alike: the shape of
// a rendered tap line and of a finished request, and Linkerd's top table over finished requests. Browser-safe: no
// imports; the rendering of TapEvents (which needs @trellis/proto) is `@trellis/tap-view/events`.
import type { FinishedRequest } from './top.ts';

export { formatLatency, TopRows, type FinishedRequest, type TopRow } from './top.ts';

/** One tap event as Linkerd's tap prints it, and, on a request's end, the request top counts. */
export interface TapLine {
  readonly kind: 'req' | 'rsp' | 'end';
  readonly text: string;
  readonly done?: FinishedRequest;
}
