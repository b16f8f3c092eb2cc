// Walks a manifest's objects: a `List` (what `kubectl get -o yaml` prints) is transformed item by item, in place.
import { isPlainObject } from '@trellis/inject';

export function mapObjects(object: unknown, fn: (obj: unknown) => unknown): unknown {
  if (isPlainObject(object) && object['kind'] === 'List' && Array.isArray(object['items'])) {
    return { ...object, items: object['items'].map((item) => mapObjects(item, fn)) };
  }
  return fn(object);
}

/** "deployment", "emoji": how a report line names an object. */
export function describeObject(obj: unknown): { kind: string; name: string } {
  if (!isPlainObject(obj)) return { kind: 'document', name: '' };
  const kind = typeof obj['kind'] === 'string' ? obj['kind'].toLowerCase() : 'document';
  const meta = isPlainObject(obj['metadata']) ? obj['metadata'] : {};
  const name = typeof meta['name'] === 'string' ? meta['name'] : typeof meta['generateName'] === 'string' ? meta['generateName'] : '';
  return { kind, name };
}
