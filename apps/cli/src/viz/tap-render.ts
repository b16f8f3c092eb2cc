// `viz tap -o json`: each event in protobuf's JSON mapping, indented as Linkerd prints it (the tap lines themselves
// are @trellis/tap-view/events).
import { tap } from '@trellis/proto';

export function renderTapJson(e: tap.TapEvent): string {
  return JSON.stringify(tap.TapEvent.toJSON(e), null, 2);
}
