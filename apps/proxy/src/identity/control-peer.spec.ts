import { describe, expect, it } from 'vitest';
import { peerHost } from './control-peer.ts';

describe('peerHost', () => {
  it("reads the IP of grpc-js' peer forms, and nothing from a target that is not a connection yet", () => {
    expect(peerHost('10.244.1.7:8086')).toBe('10.244.1.7');
    expect(peerHost('[fd00::7]:8090')).toBe('fd00::7');
    expect(peerHost('trellis-dst-headless.trellis.svc.cluster.local.:8086')).toBeUndefined();
    expect(peerHost('dns:trellis-dst-headless.trellis.svc.cluster.local:8086')).toBeUndefined();
  });
});
