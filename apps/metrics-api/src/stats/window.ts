// The stat window: a Prometheus duration (10s, 1m, 1h30m), at least 1 s and at most 1 d, kept as written for the
// queries and in seconds for rates.
import { BadRequestError } from '../errors.ts';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MIN_MS = 1000;
const MAX_MS = 86_400_000;

export interface Window {
  readonly text: string;
  readonly seconds: number;
}

export function parseWindow(text: string): Window {
  const re = /(\d+)(ms|s|m|h|d)/y;
  let ms = 0;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    ms += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    at = re.lastIndex;
  }
  if (at === 0 || at !== text.length) throw new BadRequestError(`invalid window "${text}": expected a duration such as 30s, 1m or 1h`);
  if (ms < MIN_MS || ms > MAX_MS) throw new BadRequestError(`invalid window "${text}": must be from 1s to 1d`);
  return { text, seconds: ms / 1000 };
}
