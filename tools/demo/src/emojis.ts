// The catalogue the emoji service serves. The doughnut is the one the voting service refuses (the demo's bug).
import type { Emoji } from './proto.ts';

export const EMOJIS: readonly Emoji[] = [
  ['😀', ':grinning:'], ['😂', ':joy:'], ['😍', ':heart_eyes:'], ['🤔', ':thinking:'], ['😎', ':sunglasses:'],
  ['🥳', ':partying_face:'], ['🙃', ':upside_down_face:'], ['😴', ':sleeping:'], ['🤖', ':robot:'], ['👻', ':ghost:'],
  ['🐙', ':octopus:'], ['🦄', ':unicorn:'], ['🐳', ':whale:'], ['🌵', ':cactus:'], ['🍕', ':pizza:'],
  ['🍩', ':doughnut:'], ['🌮', ':taco:'], ['☕', ':coffee:'], ['🚀', ':rocket:'], ['🎉', ':tada:'],
  ['🔥', ':fire:'], ['💯', ':100:'], ['🌈', ':rainbow:'], ['⭐', ':star:'],
].map(([unicode, shortcode]) => ({ unicode: unicode!, shortcode: shortcode! }));

/** Voting for this one fails, as in the seeds' walkthrough, so that golden metrics have something to find. */
export const BROKEN_SHORTCODE = ':doughnut:';
