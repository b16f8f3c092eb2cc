// The runtime's request, from the CNI_* environment variables (spec 1.0, "Parameters"). Pure.
import { CNI_ERR, CniError } from './errors.ts';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS'] as const;
export type CniCommand = (typeof COMMANDS)[number];

export interface CniRequest {
  readonly command: CniCommand;
  readonly containerId: string;
  /** Path of the pod's network namespace; DEL may come without one once the namespace is gone. */
  readonly netns: string;
  readonly ifname: string;
  /** CNI_ARGS as key=value pairs; the kubelet passes K8S_POD_NAMESPACE and K8S_POD_NAME. */
  readonly args: ReadonlyMap<string, string>;
}

const invalid = (message: string) => new CniError(CNI_ERR.invalidEnvironment, message);

function parseArgs(raw: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of raw.split(';').filter((p) => p.trim() !== '')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw invalid(`CNI_ARGS: ${JSON.stringify(pair)} is not a KEY=VALUE pair`);
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

export function parseCniEnv(env: Readonly<Record<string, string | undefined>>): CniRequest {
  const raw = env['CNI_COMMAND'] ?? '';
  if (raw === '') throw invalid('CNI_COMMAND is not set: this program is a CNI plugin, run by the container runtime');
  if (!(COMMANDS as readonly string[]).includes(raw)) throw invalid(`CNI_COMMAND ${JSON.stringify(raw)} is not one of ${COMMANDS.join(', ')}`);
  const command = raw as CniCommand;
  const get = (name: string) => env[name] ?? '';
  if (command === 'ADD' || command === 'CHECK' || command === 'DEL') {
    const required = ['CNI_CONTAINERID', 'CNI_IFNAME', ...(command === 'DEL' ? [] : ['CNI_NETNS'])];
    const missing = required.filter((n) => get(n) === '');
    if (missing.length > 0) throw invalid(`${command} needs ${missing.join(', ')}`);
  }
  return { command, containerId: get('CNI_CONTAINERID'), netns: get('CNI_NETNS'), ifname: get('CNI_IFNAME'), args: parseArgs(get('CNI_ARGS')) };
}
