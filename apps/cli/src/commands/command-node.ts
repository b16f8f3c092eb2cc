// A node of the command tree: a group of subcommands or a leaf that runs.
import type { CommandSpec } from '@trellis/config';
import type { CommandIo } from './io.ts';

export interface CommandNode {
  readonly summary: string;
  /** Longer text for a group's --help. */
  readonly description?: string;
  readonly aliases?: readonly string[];
  readonly hidden?: boolean;
  /** A leaf's flags; completion reads them. */
  readonly spec?: CommandSpec;
  readonly run?: (argv: readonly string[], io: CommandIo) => Promise<number>;
  readonly subcommands?: Readonly<Record<string, CommandNode>>;
}
