// The three output formats of `trellis check`, in Linkerd's shapes: the table (category headers, √ ‼ ×), short
// (only what is not ok) and JSON (categories → checks with result success / warning / error).
import type { CheckReport, CheckStatus } from './model.ts';

export type CheckOutput = 'table' | 'short' | 'json';

const MARK: Record<CheckStatus, string> = { ok: '√', warn: '‼', fail: '×' };
const COLOUR: Record<CheckStatus, string> = { ok: '\x1b[32m', warn: '\x1b[33m', fail: '\x1b[31m' };
const RESET = '\x1b[0m';

/** How the table is drawn: colours and a live waiting line only on a terminal (and colours not under NO_COLOR). */
export interface TableStyle {
  readonly colour: boolean;
  readonly progress: boolean;
}

export const PLAIN: TableStyle = { colour: false, progress: false };

/** Linkerd's rule: a terminal gets colour and progress; NO_COLOR (any value) turns colour off; pipes get neither. */
export function styleFor(isTTY: boolean, env: NodeJS.ProcessEnv = process.env): TableStyle {
  return { colour: isTTY && !env['NO_COLOR'], progress: isTTY };
}

const mark = (s: CheckStatus, style: TableStyle) => (style.colour ? `${COLOUR[s]}${MARK[s]}${RESET}` : MARK[s]);

function formatLeft(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function detail(r: CheckReport, style: TableStyle): string[] {
  const lines = [`${mark(r.outcome.status, style)} ${r.description}`];
  for (const l of (r.outcome.message ?? '').split('\n').filter(Boolean)) lines.push(`    ${l}`);
  if (r.outcome.hint) lines.push(`    see: ${r.outcome.hint}`);
  return lines;
}

/** Streams the table: returns a function to call per result and one to end with the verdict. */
export function tableWriter(
  out: { write(s: string): unknown },
  short: boolean,
  style: TableStyle = PLAIN,
): { result(r: CheckReport): void; waiting(description: string, msLeft: number): void; end(ok: boolean): void } {
  let current: string | undefined;
  let wrote = false;
  let live = false;
  const clearLive = () => {
    if (live) out.write('\r\x1b[2K');
    live = false;
  };
  return {
    waiting(description, msLeft) {
      if (!style.progress) return;
      clearLive();
      out.write(`… ${description} (waiting, ${formatLeft(msLeft)} left)`);
      live = true;
    },
    result(r) {
      clearLive();
      if (short && r.outcome.status === 'ok') return;
      if (r.category !== current) {
        out.write(`${wrote ? '\n' : ''}${r.category}\n${'-'.repeat(r.category.length)}\n`);
        current = r.category;
      }
      out.write(detail(r, style).join('\n') + '\n');
      wrote = true;
    },
    end(ok) {
      clearLive();
      out.write(`${wrote ? '\n' : ''}Status check results are ${mark(ok ? 'ok' : 'fail', style)}\n`);
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
