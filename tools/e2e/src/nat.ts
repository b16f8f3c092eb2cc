// A meshed pod's expected nat table: proxy-init's golden file (apps/proxy-init/test/golden, written for the
// injector's default arguments) with the values of the pod's own linkerd-init arguments put in their places.

/** The injector's default values the golden file was written with, by flag. */
const GOLDEN_ARGS = {
  '--incoming-proxy-port': '4143',
  '--outgoing-proxy-port': '4140',
  '--proxy-uid': '2102',
  '--inbound-ports-to-ignore': '4190,4191,4567,4568',
  '--outbound-ports-to-ignore': '4567,4568',
} as const;
/** Flags that choose the iptables binaries or the address family, not the rules. */
const NOT_RULES = new Set(['--firewall-bin-path', '--firewall-save-bin-path', '--ipv6']);

/** iptables-save output without comments and with counters zeroed, so tables can be compared. */
export function normalizeSave(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  return lines.map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]')).join('\n') + '\n';
}

/** Parses `--flag value` / `--flag=value` pairs. */
function flags(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    if (eq > 0) out.set(a.slice(0, eq), a.slice(eq + 1));
    else out.set(a, args[++i] ?? '');
  }
  return out;
}

/**
 * The golden table with the pod's ports, proxy uid and ignored ports. Arguments that would add rules the golden
 * file does not show (subnets to ignore, a gid, listed redirect ports) make this throw: that table is not golden.
 */
export function expectedNatTable(golden: string, args: readonly string[]): string {
  const given = flags(args);
  const unknown = [...given.keys()].filter((f) => !(f in GOLDEN_ARGS) && !NOT_RULES.has(f));
  if (unknown.length > 0) throw new Error(`linkerd-init has arguments the golden nat table does not cover: ${unknown.join(', ')}`);
  const value = (f: keyof typeof GOLDEN_ARGS) => given.get(f) ?? GOLDEN_ARGS[f];
  // iptables prints a port range a-b as a:b in --dports; the comment keeps the text as given.
  const ports = (list: string) => list.replace(/-/g, ':');
  const inbound = value('--inbound-ports-to-ignore');
  const outbound = value('--outbound-ports-to-ignore');
  return golden
    .split('\n')
    .map((line) => {
      let l = line
        .replace(`--uid-owner ${GOLDEN_ARGS['--proxy-uid']} `, `--uid-owner ${value('--proxy-uid')} `)
        .replace(`--to-ports ${GOLDEN_ARGS['--outgoing-proxy-port']}`, `--to-ports ${value('--outgoing-proxy-port')}`)
        .replace(`--to-ports ${GOLDEN_ARGS['--incoming-proxy-port']}`, `--to-ports ${value('--incoming-proxy-port')}`);
      const [chain, defaults, mine] = l.startsWith('-A PROXY_INIT_REDIRECT ')
        ? ['REDIRECT', GOLDEN_ARGS['--inbound-ports-to-ignore'], inbound]
        : l.startsWith('-A PROXY_INIT_OUTPUT ')
          ? ['OUTPUT', GOLDEN_ARGS['--outbound-ports-to-ignore'], outbound]
          : [undefined, '', ''];
      if (chain && l.includes(`--dports ${defaults} `)) {
        // No ports to ignore: proxy-init writes no ignore rule at all.
        if (mine === '') return undefined;
        l = l.replace(`--dports ${defaults} `, `--dports ${ports(mine)} `).replace(`ignore-port-${defaults}"`, `ignore-port-${mine}"`);
      }
      return l;
    })
    .filter((l) => l !== undefined)
    .join('\n');
}
