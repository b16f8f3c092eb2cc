// `trellis-cluster logs POD [-c CONTAINER] [-n NS]`: the node agent writes each container's output to
// <dir>/pods/<ns>_<pod>_<uid>/<container>.log; this prints the newest pod of that name.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@trellis/config';

export async function podLogs(dir: string, namespace: string, pod: string, container?: string): Promise<string> {
  const podsDir = join(dir, 'pods');
  const prefix = `${namespace}_${pod}_`;
  const matches = (await readdir(podsDir).catch(() => [] as string[])).filter((d) => d.startsWith(prefix) && !d.slice(prefix.length).includes('_'));
  if (matches.length === 0) throw new ConfigError(`no pod ${namespace}/${pod} has run on this node (looked in ${podsDir})`);
  const dated = await Promise.all(matches.map(async (d) => ({ d, t: (await stat(join(podsDir, d))).mtimeMs })));
  const podDir = join(podsDir, dated.sort((a, b) => b.t - a.t)[0]!.d);
  const logs = (await readdir(podDir)).filter((f) => f.endsWith('.log')).map((f) => f.slice(0, -4));
  const name = container ?? (logs.length === 1 ? logs[0] : undefined);
  if (!name) throw new ConfigError(`pod ${namespace}/${pod} has several containers (${logs.join(', ')}): choose one with -c`);
  if (!logs.includes(name)) throw new ConfigError(`pod ${namespace}/${pod} has no logs of container ${JSON.stringify(name)} (has: ${logs.join(', ') || 'none'})`);
  return readFile(join(podDir, `${name}.log`), 'utf8');
}
