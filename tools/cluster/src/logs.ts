// `trellis-cluster logs POD [-c CONTAINER] [-n NS]`: prints the newest pod of that name's container output, from the
// node's log files: the node agent writes <dir>/pods/<ns>_<pod>_<uid>/<container>.log, the kubelet
// <pod logs dir>/<ns>_<pod>_<uid>/<container>/<restart>.log in the CRI format (a line is `<time> <stream> <P|F> text`,
// P for a partial line continued by the next record).
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@trellis/config';
import { readState } from './control-plane.ts';
import { nodeDir } from './kubelet/node.ts';
import { NODE_NAME } from './node-agent/names.ts';

/** The text of CRI log records, partial lines joined. */
export function criLogText(records: string): string {
  let out = '';
  for (const line of records.split('\n')) {
    const m = /^\S+ (?:stdout|stderr) ([PF]) ?(.*)$/.exec(line);
    if (!m) continue;
    out += m[1] === 'P' ? m[2] : `${m[2]}\n`;
  }
  return out;
}

async function newestPodDir(podsDir: string, namespace: string, pod: string): Promise<string> {
  const prefix = `${namespace}_${pod}_`;
  const matches = (await readdir(podsDir).catch(() => [] as string[])).filter((d) => d.startsWith(prefix) && !d.slice(prefix.length).includes('_'));
  if (matches.length === 0) throw new ConfigError(`no pod ${namespace}/${pod} has run on this node (looked in ${podsDir})`);
  const dated = await Promise.all(matches.map(async (d) => ({ d, t: (await stat(join(podsDir, d))).mtimeMs })));
  return join(podsDir, dated.sort((a, b) => b.t - a.t)[0]!.d);
}

function chooseContainer(namespace: string, pod: string, names: string[], container: string | undefined): string {
  const name = container ?? (names.length === 1 ? names[0] : undefined);
  if (!name) throw new ConfigError(`pod ${namespace}/${pod} has several containers (${names.join(', ')}): choose one with -c`);
  if (!names.includes(name)) throw new ConfigError(`pod ${namespace}/${pod} has no logs of container ${JSON.stringify(name)} (has: ${names.join(', ') || 'none'})`);
  return name;
}

export async function podLogs(dir: string, namespace: string, pod: string, container?: string): Promise<string> {
  const state = await readState(dir);
  if (state?.runtime === 'kubelet') {
    const podDir = await newestPodDir(join(nodeDir(dir, NODE_NAME), 'pod-logs'), namespace, pod);
    const name = chooseContainer(namespace, pod, await readdir(podDir), container);
    // One file per restart (0.log, 1.log, ...): all of them in order, as the agent's one file has them.
    const files = (await readdir(join(podDir, name))).filter((f) => /^\d+\.log$/.test(f)).sort((a, b) => parseInt(a) - parseInt(b));
    const parts = await Promise.all(files.map((f) => readFile(join(podDir, name, f), 'utf8')));
    return parts.map(criLogText).join('');
  }
  const podDir = await newestPodDir(join(dir, 'pods'), namespace, pod);
  const logs = (await readdir(podDir)).filter((f) => f.endsWith('.log')).map((f) => f.slice(0, -4));
  return readFile(join(podDir, `${chooseContainer(namespace, pod, logs, container)}.log`), 'utf8');
}
