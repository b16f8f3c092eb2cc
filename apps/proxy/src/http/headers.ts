// Hop-by-hop header handling for HTTP/1 (docs/reference/linkerd-proxy.md §4 "Hop-by-hop headers"), on raw header arrays
// ([name, value, name, value, ...]) so order and case pass through unchanged.

const ALWAYS_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'transfer-encoding']);

export interface FilterOptions {
  /** Keep `connection`/`upgrade` (an Upgrade request or a 101 response). */
  readonly upgrade?: boolean;
  /** Keep `transfer-encoding`: Node then frames the body the same way on the other side. */
  readonly keepTransferEncoding?: boolean;
  /** Drop `content-length` as well (successful CONNECT responses). */
  readonly dropContentLength?: boolean;
  /** Extra names to drop (lower case). */
  readonly drop?: ReadonlySet<string>;
}

/** Names listed in Connection headers, lower-cased. */
function connectionTokens(raw: readonly string[]): Set<string> | undefined {
  let out: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== 'connection') continue;
    for (const t of (raw[i + 1] as string).split(',')) {
      const n = t.trim().toLowerCase();
      if (n) (out ??= new Set()).add(n);
    }
  }
  return out;
}

export function filterHopByHop(raw: readonly string[], o: FilterOptions = {}): string[] {
  const listed = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (ALWAYS_HOP.has(lower)) {
      const keep =
        (o.upgrade === true && (lower === 'connection' || lower === 'upgrade')) ||
        (o.keepTransferEncoding === true && lower === 'transfer-encoding') ||
        (lower === 'te' && /^\s*trailers\s*$/i.test(raw[i + 1] as string));
      if (!keep) continue;
    } else if (listed?.has(lower) && !(o.upgrade === true && lower === 'upgrade')) continue;
    if (o.dropContentLength === true && lower === 'content-length') continue;
    if (o.drop?.has(lower)) continue;
    out.push(name, raw[i + 1] as string);
  }
  return out;
}

/** First value of a header in a raw array, by lower-case name. */
export function rawHeader(raw: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).toLowerCase() === lowerName) return raw[i + 1];
  return undefined;
}

/** Serializes a response head for a socket we write to ourselves (upgrades, CONNECT). */
export function responseHead(status: number, message: string, raw: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${message}\r\n`;
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return head + '\r\n';
}
