// Runs checks directly and maps each description to "ok" or its message, for compact assertions.
import type { CheckContext } from '../src/check/context.ts';
import type { Check } from '../src/check/model.ts';

export async function annotationsCheck(checks: readonly Check<CheckContext>[], ctx: CheckContext): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const c of checks) {
    const r = await c.run(ctx);
    out[c.description] = r.status === 'ok' ? 'ok' : (r.message ?? r.status);
  }
  return out;
}
