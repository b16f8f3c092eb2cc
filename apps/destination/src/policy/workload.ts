// The proxy's workload string (LINKERD2_PROXY_POLICY_WORKLOAD): JSON {"ns","pod"} (or
// {"ns","external_workload"}), or the legacy "ns:pod".
import { InvalidRequestError } from '../errors.ts';

export interface Workload {
  readonly ns: string;
  readonly pod: string | undefined;
  readonly externalWorkload: string | undefined;
}

export function parseWorkload(text: string): Workload {
  const t = text.trim();
  if (t.startsWith('{')) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch {
      throw new InvalidRequestError(`invalid workload ${JSON.stringify(text)}: not JSON`);
    }
    const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
    const s = (x: unknown) => (typeof x === 'string' && x !== '' ? x : undefined);
    const ns = s(o['ns']);
    const pod = s(o['pod']);
    const externalWorkload = s(o['external_workload']);
    if (!ns || (!pod && !externalWorkload)) throw new InvalidRequestError(`invalid workload ${JSON.stringify(text)}: expected {"ns":..,"pod":..}`);
    return { ns, pod, externalWorkload };
  }
  const [ns, pod, ...rest] = t.split(':');
  if (!ns || !pod || rest.length > 0) throw new InvalidRequestError(`invalid workload ${JSON.stringify(text)}: expected {"ns":..,"pod":..} or ns:pod`);
  return { ns, pod, externalWorkload: undefined };
}

/** The namespace of a source workload, when the string names one (outbound lookups use it loosely). */
export function workloadNamespace(text: string): string | undefined {
  try {
    return parseWorkload(text).ns;
  } catch {
    return undefined;
  }
}
