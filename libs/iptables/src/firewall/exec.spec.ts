import { describe, expect, it } from 'vitest';
import { commandRunner } from './exec.ts';

describe('command runner', () => {
  it('wraps commands in nsenter only when a namespace is given', () => {
    expect(commandRunner('').argv(['iptables-save', '-t', 'nat'])).toEqual(['iptables-save', '-t', 'nat']);
    expect(commandRunner('/run/netns/pod').argv(['iptables-save'])).toEqual(['nsenter', '--net=/run/netns/pod', '--', 'iptables-save']);
  });

  it('feeds input and collects output and the exit code', async () => {
    const res = await commandRunner('').run(['sh', '-c', 'cat; echo oops >&2; exit 3'], '*nat\nCOMMIT\n');
    expect(res).toEqual({ code: 3, stdout: '*nat\nCOMMIT\n', stderr: 'oops\n' });
  });

  it('reports a missing program as exit 127 with its name', async () => {
    const res = await commandRunner('').run(['/nonexistent/iptables-restore']);
    expect(res.code).toBe(127);
    expect(res.stderr).toContain('/nonexistent/iptables-restore');
  });
});
