// `trellis uninject`: removes the proxy, proxy-init, their volumes and the injector's annotations and labels.
import { ConfigError, parseCommandLine, parseEnum, type CommandSpec } from '@trellis/config';
import { uninject } from '@trellis/inject';
import { readSources } from '../manifests/read.ts';
import { describeObject, mapObjects } from '../manifests/visit.ts';
import { formatManifests, type OutputFormat } from '../manifests/write.ts';
import type { CommandIo } from './io.ts';
import { GLOBAL_FLAGS } from '../cluster/kubeconfig.ts';

export const UNINJECT_SPEC: CommandSpec = {
  name: 'trellis uninject',
  summary: 'Remove the Trellis proxy from Kubernetes manifests (files, directories, or - for stdin).',
  allowPositionals: true,
  flags: {
    output: { type: 'string', short: 'o', description: 'output format (yaml, json)', default: 'yaml' },
  },
  globalFlags: GLOBAL_FLAGS,
  args: 'FILE|DIR|-...',
  epilog: 'Example:\n  kubectl get -n emojivoto deploy -o yaml | trellis uninject - | kubectl apply -f -',
};

export async function runUninject(argv: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseCommandLine(UNINJECT_SPEC, argv, io.stdout);
  if (parsed.kind === 'exit') return parsed.code;
  if (parsed.positionals.length === 0) throw new ConfigError('no input: give files, directories, or - for stdin (see trellis uninject --help)');
  const format = parseEnum('--output', String(parsed.values['output']), ['yaml', 'json'] as const) as OutputFormat;
  const manifests = await readSources(parsed.positionals, () => io.readStdin());
  const lines: string[] = [];
  const out = manifests.map((m) =>
    mapObjects(m.object, (obj) => {
      const { kind, name } = describeObject(obj);
      const r = uninject(obj);
      if (!r.supported) lines.push(`${kind} "${name}" skipped: this kind of object has no pod template`);
      else if (!r.changed) lines.push(`${kind} "${name}" skipped: not injected`);
      else lines.push(`${kind} "${name}" uninjected`);
      return r.object;
    }),
  );
  io.stdout.write(formatManifests(out, format));
  if (lines.length > 0) io.stderr.write(lines.join('\n') + '\n\n');
  return 0;
}
