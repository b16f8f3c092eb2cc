import { describe, expect, it } from 'vitest';
import { Conditions, podPhase, podStatus, type ContainerView, type PodView } from './status.ts';

const running = (name: string, kind: ContainerView['kind'], ready: boolean): ContainerView => ({
  name, image: 'busybox', kind, state: { running: { startedAt: 't0' } }, lastState: undefined, ready, started: true, restartCount: 0, done: false, containerID: 'x',
});
const view = (containers: ContainerView[], initialized = true): PodView => ({ podIP: '10.244.0.5', hostIP: '10.244.0.1', startTime: 't0', sandboxReady: true, initialized, initFailed: false, containers });

describe('pod status', () => {
  it('is Pending until init containers are done, then Running', () => {
    expect(podPhase(view([running('app', 'regular', false)], false))).toBe('Pending');
    expect(podPhase(view([running('app', 'regular', false)]))).toBe('Running');
  });

  it('is Succeeded or Failed once every container has stopped for good', () => {
    const done = (code: number): ContainerView => ({ ...running('a', 'regular', false), state: { terminated: { exitCode: code, reason: 'x', startedAt: 't', finishedAt: 't' } }, done: true });
    expect(podPhase(view([done(0)]))).toBe('Succeeded');
    expect(podPhase(view([done(0), { ...done(1), name: 'b' }]))).toBe('Failed');
  });

  it('is Ready only when containers and native sidecars are ready, keeping transition times', () => {
    const c = new Conditions();
    const s1 = podStatus(view([running('proxy', 'sidecar', false), running('app', 'regular', true)]), c, 't1');
    expect(s1['conditions'].find((x: { type: string }) => x.type === 'Ready')).toMatchObject({ status: 'False', lastTransitionTime: 't1', message: 'containers with unready status: [proxy]' });
    const s2 = podStatus(view([running('proxy', 'sidecar', true), running('app', 'regular', true)]), c, 't2');
    expect(s2['conditions'].find((x: { type: string }) => x.type === 'Ready')).toMatchObject({ status: 'True', lastTransitionTime: 't2' });
    expect(s2['conditions'].find((x: { type: string }) => x.type === 'Initialized')).toMatchObject({ status: 'True', lastTransitionTime: 't1' });
    expect(s2).toMatchObject({ phase: 'Running', podIP: '10.244.0.5', podIPs: [{ ip: '10.244.0.5' }] });
    expect(s2['initContainerStatuses'].map((x: { name: string }) => x.name)).toEqual(['proxy']);
    expect(s2['containerStatuses'].map((x: { name: string }) => x.name)).toEqual(['app']);
  });
});
