// Logging: pino, with the level taken from Linkerd's tracing-style filter (LINKERD2_PROXY_LOG, e.g.
// "warn,linkerd=info"): the `linkerd=` directive if present, else the bare default. /proxy-log-level changes it.
import { pino, type Logger } from 'pino';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'off'] as const;
type Level = (typeof LEVELS)[number];

export function levelFromFilter(filter: string): Level | undefined {
  let bare: Level | undefined;
  let ours: Level | undefined;
  for (const raw of filter.split(',')) {
    const d = raw.trim().toLowerCase();
    if (!d || d.startsWith('[')) continue;
    const eq = d.indexOf('=');
    if (eq === -1) {
      if ((LEVELS as readonly string[]).includes(d)) bare = d as Level;
      else return undefined;
    } else {
      const target = d.slice(0, eq);
      const lvl = d.slice(eq + 1);
      if (!(LEVELS as readonly string[]).includes(lvl)) return undefined;
      if (target === 'linkerd' || target === 'trellis') ours = lvl as Level;
    }
  }
  return ours ?? bare ?? 'info';
}

export interface ProxyLog {
  readonly logger: Logger;
  filter(): string;
  /** Returns false (and changes nothing) when the filter cannot be parsed. */
  setFilter(filter: string): boolean;
}

export function createProxyLog(filter: string, destination?: pino.DestinationStream): ProxyLog {
  let current = filter;
  const level = levelFromFilter(filter) ?? 'info';
  const logger = pino({ base: { component: 'proxy' }, level: level === 'off' ? 'silent' : level }, destination ?? pino.destination(2));
  return {
    logger,
    filter: () => current,
    setFilter: (f) => {
      const l = levelFromFilter(f);
      if (!l) return false;
      current = f;
      logger.level = l === 'off' ? 'silent' : l;
      return true;
    },
  };
}
