import { describe, expect, it } from 'vitest';
import { parseCniEnv } from './env.ts';
import { CniError } from './errors.ts';

const base = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '/run/netns/p', CNI_PATH: '/opt/cni/bin' };

describe('the runtime request from the environment', () => {
  it("reads the kubelet's CNI_ARGS", () => {
    const req = parseCniEnv({ ...base, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=emojivoto;K8S_POD_NAME=web-1;K8S_POD_INFRA_CONTAINER_ID=c1' });
    expect(req.command).toBe('ADD');
    expect(req.args.get('K8S_POD_NAMESPACE')).toBe('emojivoto');
    expect(req.args.get('K8S_POD_NAME')).toBe('web-1');
  });

  it('names a missing CNI_COMMAND, an unknown command and missing variables, with code 4', () => {
    const fail = (env: Record<string, string>) => {
      try {
        parseCniEnv(env);
      } catch (err) {
        return err as CniError;
      }
      throw new Error('accepted');
    };
    expect(fail({}).message).toMatch(/CNI_COMMAND is not set/);
    expect(fail({ ...base, CNI_COMMAND: 'UPDATE' }).message).toMatch(/CNI_COMMAND "UPDATE" is not one of ADD, DEL, CHECK, VERSION/);
    const missing = fail({ CNI_COMMAND: 'CHECK', CNI_IFNAME: 'eth0' });
    expect(missing.message).toBe('CHECK needs CNI_CONTAINERID, CNI_NETNS');
    expect(missing.cniCode).toBe(4);
    expect(fail({ ...base, CNI_ARGS: 'K8S_POD_NAME' }).message).toMatch(/"K8S_POD_NAME" is not a KEY=VALUE pair/);
  });

  it('lets DEL come without a network namespace, and VERSION with nothing else', () => {
    expect(parseCniEnv({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' }).netns).toBe('');
    expect(parseCniEnv({ CNI_COMMAND: 'VERSION' }).command).toBe('VERSION');
  });
});
