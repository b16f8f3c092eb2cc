import { describe, expect, it } from 'vitest';
import { containerIdentity, launcherScript, nonRootViolation, setprivArgs, shq } from './container.ts';

describe('containerIdentity and setpriv', () => {
  it('gives a root container the default capabilities plus the added ones, minus the dropped', () => {
    const id = containerIdentity({ securityContext: { capabilities: { add: ['NET_ADMIN'], drop: ['KILL'] } } }, { spec: {} });
    expect(id.uid).toBe(0);
    expect(id.bounding).toContain('net_admin');
    expect(id.bounding).not.toContain('kill');
    const args = setprivArgs(id);
    expect(args.slice(0, 5)).toEqual(['--reuid', '0', '--regid', '0', '--clear-groups']);
    expect(args[args.indexOf('--inh-caps') + 1]).toBe(args[args.indexOf('--bounding-set') + 1]);
  });

  it('gives a non-root container exactly its added capabilities as ambient ones (drop ALL honoured)', () => {
    const id = containerIdentity(
      { securityContext: { runAsUser: 65534, capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] }, allowPrivilegeEscalation: false } },
      { spec: { securityContext: { runAsGroup: 65534 } } },
    );
    expect(id).toMatchObject({ uid: 65534, gid: 65534, bounding: ['net_admin', 'net_raw'], noNewPrivs: true });
    expect(setprivArgs(id)).toEqual([
      '--reuid', '65534', '--regid', '65534', '--clear-groups', '--bounding-set', '-all,+net_admin,+net_raw',
      '--inh-caps', '-all,+net_admin,+net_raw', '--ambient-caps', '-all,+net_admin,+net_raw', '--no-new-privs',
    ]);
  });

  it('takes user and group from the pod when the container sets none', () => {
    const id = containerIdentity({}, { spec: { securityContext: { runAsUser: 2102, fsGroup: 2000 } } });
    expect(id).toMatchObject({ uid: 2102, gid: 2102, groups: [2000] });
  });
});

describe('nonRootViolation', () => {
  it('refuses runAsNonRoot when the container would run as root, from the container or the pod', () => {
    const c = { securityContext: { runAsNonRoot: true } };
    expect(nonRootViolation(c, { spec: {} }, containerIdentity(c, { spec: {} }))).toMatch(/runAsNonRoot/);
    const pod = { spec: { securityContext: { runAsNonRoot: true, runAsUser: 65534 } } };
    expect(nonRootViolation({}, pod, containerIdentity({}, pod))).toBeUndefined();
  });
});

describe('launcherScript', () => {
  it('sets the hostname, binds volumes (read-only when asked), enters the working dir and execs setpriv', () => {
    const id = containerIdentity({}, { spec: {} });
    const s = launcherScript({
      hostname: 'web-1',
      mounts: [{ source: '/d/vol', target: '/var/run/secrets/x', readOnly: true, file: false }],
      workingDir: '/app',
      argv: ['node', "it's.js"],
      id,
    });
    expect(s).toContain("printf %s 'web-1' > /proc/sys/kernel/hostname");
    expect(s).toContain("mount --bind '/d/vol' '/var/run/secrets/x'\nmount -o remount,bind,ro '/var/run/secrets/x'");
    expect(s).toContain("cd '/app'");
    expect(s.trimEnd().split('\n').at(-1)).toMatch(/^exec setpriv .* -- 'node' 'it'\\''s.js'$/);
    expect(shq("a'b")).toBe(`'a'\\''b'`);
  });
});
