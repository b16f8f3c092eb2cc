// `trellis-cluster logs POD [-c CONTAINER] [-n NS]`: prints the newest pod of that name's container output, from the
// kubelet's log files, <pod logs dir>/<ns>_<pod>_<uid>/<container>/<restart>.log in the CRI format (a line is
// `<time> <stream> <P|F> text`, P for a partial line continued by the next record). It reads the files, so it works
// when the API server or the kubelet does not.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@trellis/config';
import { nodeDir, nodesIn } from './kubelet/node.ts';

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

/** The newest log directory of the pod on any of the nodes (a pod of that name may have run on several). */
async function newestPodDir(podsDirs: readonly string[], namespace: string, pod: string): Promise<string> {
  const prefix = `${namespace}_${pod}_`;
  const matches: string[] = [];
  for (const podsDir of podsDirs) {
    for (const d of await readdir(podsDir).catch(() => [] as string[])) if (d.startsWith(prefix) && !d.slice(prefix.length).includes('_')) matches.push(join(podsDir, d));
  }
  if (matches.length === 0) throw new ConfigError(`no pod ${namespace}/${pod} has run on this cluster's nodes (looked in ${podsDirs.join(', ')})`);
  const dated = await Promise.all(matches.map(async (d) => ({ d, t: (await stat(d)).mtimeMs })));
  return dated.sort((a, b) => b.t - a.t)[0]!.d;
}

function chooseContainer(namespace: string, pod: string, names: string[], container: string | undefined): string {
  const name = container ?? (names.length === 1 ? names[0] : undefined);
  if (!name) throw new ConfigError(`pod ${namespace}/${pod} has several containers (${names.join(', ')}): choose one with -c`);
  if (!names.includes(name)) throw new ConfigError(`pod ${namespace}/${pod} has no logs of container ${JSON.stringify(name)} (has: ${names.join(', ') || 'none'})`);
  return name;
}

export async function podLogs(dir: string, namespace: string, pod: string, container?: string): Promise<string> {
  const podDir = await newestPodDir((await nodesIn(dir)).map((node) => join(nodeDir(dir, node), 'pod-logs')), namespace, pod);
  const name = chooseContainer(namespace, pod, await readdir(podDir), container);
  // One file per restart (0.log, 1.log, ...): all of them in order, every run of the container.
  const files = (await readdir(join(podDir, name))).filter((f) => /^\d+\.log$/.test(f)).sort((a, b) => parseInt(a) - parseInt(b));
  const parts = await Promise.all(files.map((f) => readFile(join(podDir, name, f), 'utf8')));
  return parts.map(criLogText).join('');
}
