// The three output formats of `trellis check`, in Linkerd's shapes: the table (category headers, √ ‼ ×), short
// (only what is not ok) and JSON (categories → checks with result success / warning / error).
import type { CheckReport, CheckStatus } from './model.ts';

export type CheckOutput = 'table' | 'short' | 'json';

const MARK: Record<CheckStatus, string> = { ok: '√', warn: '‼', fail: '×' };

function detail(r: CheckReport): string[] {
  const lines = [`${MARK[r.outcome.status]} ${r.description}`];
  for (const l of (r.outcome.message ?? '').split('\n').filter(Boolean)) lines.push(`    ${l}`);
  if (r.outcome.hint) lines.push(`    see: ${r.outcome.hint}`);
  return lines;
}

/** Streams the table: returns a function to call per result and one to end with the verdict. */
export function tableWriter(out: { write(s: string): unknown }, short: boolean): { result(r: CheckReport): void; end(ok: boolean): void } {
  let current: string | undefined;
  let wrote = false;
  return {
    result(r) {
      if (short && r.outcome.status === 'ok') return;
      if (r.category !== current) {
        out.write(`${wrote ? '\n' : ''}${r.category}\n${'-'.repeat(r.category.length)}\n`);
        current = r.category;
      }
      out.write(detail(r).join('\n') + '\n');
      wrote = true;
    },
    end(ok) {
      out.write(`${wrote ? '\n' : ''}Status check results are ${ok ? '√' : '×'}\n`);
    },
  };
}

const RESULT: Record<CheckStatus, string> = { ok: 'success', warn: 'warning', fail: 'error' };

export function renderJson(reports: readonly CheckReport[], ok: boolean): string {
  const categories: { categoryName: string; checks: object[] }[] = [];
  for (const r of reports) {
    let c = categories.at(-1);
    if (c?.categoryName !== r.category) categories.push((c = { categoryName: r.category, checks: [] }));
    c.checks.push({
      description: r.description,
      ...(r.outcome.hint ? { hint: r.outcome.hint } : {}),
      ...(r.outcome.message ? { error: r.outcome.message } : {}),
      result: RESULT[r.outcome.status],
    });
  }
  return JSON.stringify({ success: ok, categories }, null, 2) + '\n';
}
