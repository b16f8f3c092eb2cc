import { describe, expect, it } from 'vitest';
import { parseNamespace, parseResource } from './resources.ts';
import { parseWindow } from './window.ts';

describe('parseResource', () => {
  it('takes kubectl-style short names, with or without a name', () => {
    expect(parseResource('resource', 'deploy')).toEqual({ type: 'deployment' });
    expect(parseResource('resource', 'sts/db')).toEqual({ type: 'statefulset', name: 'db' });
    expect(parseResource('resource', 'au/web-svc.emojivoto.svc.cluster.local:80')).toEqual({ type: 'authority', name: 'web-svc.emojivoto.svc.cluster.local:80' });
    expect(parseResource('resource', 'all')).toEqual({ type: 'all' });
  });

  it('rejects unknown types, empty or extra parts and bad names, naming the input', () => {
    expect(() => parseResource('resource', 'rs')).toThrow('invalid resource "rs": unknown type "rs" (one of deploy, deployment, deployments, sts,');
    expect(() => parseResource('to', 'deploy/')).toThrow('invalid to "deploy/": expected TYPE or TYPE/NAME');
    expect(() => parseResource('resource', 'deploy/a/b')).toThrow('expected TYPE or TYPE/NAME');
    expect(() => parseResource('resource', 'deploy/Web"}')).toThrow('invalid resource "deploy/Web"}": "Web"}" is not a Kubernetes object name');
    expect(() => parseResource('resource', 'all/x')).toThrow('"all" takes no name');
  });
});

describe('parseNamespace', () => {
  it('accepts DNS labels only', () => {
    expect(parseNamespace('emojivoto')).toBe('emojivoto');
    expect(() => parseNamespace('a",x="')).toThrow('invalid namespace "a\\",x=\\"": not a Kubernetes namespace name');
  });
});

describe('parseWindow', () => {
  it('keeps the Prometheus duration and its seconds', () => {
    expect(parseWindow('1m')).toEqual({ text: '1m', seconds: 60 });
    expect(parseWindow('1h30m')).toEqual({ text: '1h30m', seconds: 5400 });
    expect(parseWindow('1500ms')).toEqual({ text: '1500ms', seconds: 1.5 });
  });

  it('rejects what is not a duration, or outside 1s..1d', () => {
    expect(() => parseWindow('1 m')).toThrow('invalid window "1 m": expected a duration such as 30s, 1m or 1h');
    expect(() => parseWindow('60')).toThrow('expected a duration');
    expect(() => parseWindow('500ms')).toThrow('invalid window "500ms": must be from 1s to 1d');
    expect(() => parseWindow('2d')).toThrow('must be from 1s to 1d');
  });
});
