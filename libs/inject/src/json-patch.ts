// RFC 6902 JSON Patch: the ops the injector emits, and a small applier (the CLI's --manual and tests use it).
import { TrellisError } from '@trellis/config';
import { isPlainObject } from './values.ts';

export interface PatchOp {
  readonly op: 'add' | 'remove' | 'replace';
  readonly path: string;
  readonly value?: unknown;
}

export class PatchError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_PATCH', message);
  }
}

function unescape(seg: string): string {
  return seg.replaceAll('~1', '/').replaceAll('~0', '~');
}

/** Applies ops to a deep copy of `doc` and returns the copy. */
export function applyPatch<T>(doc: T, ops: readonly PatchOp[]): T {
  const root = { doc: structuredClone(doc) as unknown };
  for (const op of ops) {
    if (!op.path.startsWith('/') && op.path !== '') throw new PatchError(`patch path ${JSON.stringify(op.path)} must start with /`);
    const segs = op.path === '' ? [] : op.path.slice(1).split('/').map(unescape);
    let parent: unknown = root;
    let key = 'doc';
    for (const seg of segs) {
      parent = Array.isArray(parent) ? parent[Number(key)] : (parent as Record<string, unknown>)[key];
      key = seg;
      if (!Array.isArray(parent) && !isPlainObject(parent)) throw new PatchError(`patch path ${op.path}: no container at ${JSON.stringify(seg)}`);
    }
    if (Array.isArray(parent)) {
      const index = key === '-' ? parent.length : Number(key);
      if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new PatchError(`patch path ${op.path}: index out of range`);
      if (op.op === 'add') parent.splice(index, 0, structuredClone(op.value));
      else {
        if (index >= parent.length) throw new PatchError(`patch path ${op.path}: index out of range`);
        if (op.op === 'remove') parent.splice(index, 1);
        else parent[index] = structuredClone(op.value);
      }
    } else {
      const obj = parent as Record<string, unknown>;
      if (op.op !== 'add' && !(key in obj)) throw new PatchError(`patch path ${op.path}: nothing to ${op.op}`);
      if (op.op === 'remove') delete obj[key];
      else obj[key] = structuredClone(op.value);
    }
  }
  return root.doc as T;
}
