// `trellis completion bash|zsh|fish`: a script for the shell that asks `trellis __complete WORDS...` for the
// candidates, so completion always knows the commands and flags of the binary that is installed.
import { ConfigError, parseCommandLine, type CommandSpec } from '@trellis/config';
import { GLOBAL_FLAGS } from '../cluster/kubeconfig.ts';
import type { CommandIo } from './io.ts';
import type { CommandNode } from './command-node.ts';

export const COMPLETION_SPEC: CommandSpec = {
  name: 'trellis completion',
  summary: 'Output the shell completion script for bash, zsh or fish.',
  allowPositionals: true,
  args: 'bash|zsh|fish',
  flags: {},
  globalFlags: GLOBAL_FLAGS,
  epilog: [
    'Examples:',
    '  source <(trellis completion bash)                                  # bash, this shell',
    '  trellis completion zsh > "${fpath[1]}/_trellis"                    # zsh, with compinit',
    '  trellis completion fish > ~/.config/fish/completions/trellis.fish  # fish',
  ].join('\n'),
};

const SCRIPTS: Readonly<Record<string, string>> = {
  bash: `# bash completion for trellis
_trellis() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local IFS=$'\\n'
  COMPREPLY=( $(compgen -W "$(trellis __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)" -- "$cur") )
}
complete -o default -F _trellis trellis
`,
  zsh: `#compdef trellis
# zsh completion for trellis
_trellis() {
  local -a candidates
  candidates=(\${(f)"$(trellis __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)"})
  compadd -a candidates
}
if [ "$funcstack[1]" = "_trellis" ]; then _trellis "$@"; else compdef _trellis trellis; fi
`,
  fish: `# fish completion for trellis
complete -c trellis -f -a '(trellis __complete (commandline -opc)[2..-1] (commandline -ct))'
`,
};

export async function runCompletion(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(COMPLETION_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const shell = cl.positionals[0];
  const script = shell === undefined ? undefined : SCRIPTS[shell];
  if (cl.positionals.length !== 1 || !script) throw new ConfigError(`expected one shell: bash, zsh or fish${shell ? `, got ${JSON.stringify(shell)}` : ''}`);
  io.stdout.write(script);
  return 0;
}

const takesValue = (arg: string) =>
  !arg.includes('=') && Object.entries(GLOBAL_FLAGS).some(([name, f]) => f.type !== 'boolean' && (arg === `--${name}` || ('short' in f && arg === `-${f.short}`)));

function flagNames(spec: CommandSpec | undefined): string[] {
  const flags = { ...GLOBAL_FLAGS, ...spec?.flags };
  return Object.entries(flags).flatMap(([name, f]) => [`--${name}`, ...('short' in f && f.short ? [`-${f.short}`] : [])]);
}

/** The candidates for the last of `words` (the word being typed, maybe empty), one per line. */
export function completions(root: CommandNode, words: readonly string[]): string[] {
  const typed = words.at(-1) ?? '';
  let node = root;
  const before = words.slice(0, -1);
  for (let i = 0; i < before.length; i++) {
    const w = before[i] as string;
    if (w.startsWith('-')) {
      if (takesValue(w)) i++;
      continue;
    }
    const sub = node.subcommands?.[w];
    if (sub) node = sub;
    else if (node.subcommands && !node.run) return [];
  }
  const candidates = typed.startsWith('-')
    ? [...flagNames(node.spec), '--help']
    : Object.entries(node.subcommands ?? {})
        .filter(([, c]) => !c.hidden)
        .map(([n]) => n);
  return [...new Set(candidates)].filter((c) => c.startsWith(typed)).sort();
}

export function runComplete(root: CommandNode, argv: readonly string[], io: CommandIo): Promise<number> {
  const out = completions(root, argv);
  io.stdout.write(out.length ? `${out.join('\n')}\n` : '');
  return Promise.resolve(0);
}
