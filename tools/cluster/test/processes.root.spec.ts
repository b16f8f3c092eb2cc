// A process started in a network namespace (needs root): nsenter joins the namespace and execs the command, and the
// record must count as running through that exec, or a wait for the process would report it exited when it had not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isOurs, startProcess, stopProcess } from '../src/processes.ts';

const run = promisify(execFile);
const NETNS = `trellis-proc-test-${process.pid}`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-processes-test-'));
  await run('ip', ['netns', 'add', NETNS]);
});

afterAll(async () => {
  await run('ip', ['netns', 'del', NETNS]).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('startProcess in a network namespace', () => {
  it('runs the command in the namespace and counts it as ours from the start, through nsenter\'s exec, until stopped', async () => {
    for (let i = 0; i < 10; i++) {
      const rec = startProcess('sleeper', ['/usr/bin/sleep', '30'], join(dir, 'sleeper.log'), process.env, NETNS);
      const t0 = Date.now();
      let notOurs = 0;
      while (Date.now() - t0 < 50) if (!isOurs(rec)) notOurs++;
      expect(notOurs, `run ${i}: isOurs false while the process ran`).toBe(0);
      expect(readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0')[0]).toBe('/usr/bin/sleep');
      const ns = (await run('ip', ['netns', 'identify', String(rec.pid)])).stdout.trim();
      expect(ns).toBe(NETNS);
      await stopProcess(rec);
      expect(isOurs(rec)).toBe(false);
    }
  }, 60_000);
});
