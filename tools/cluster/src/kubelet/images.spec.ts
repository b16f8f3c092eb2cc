import { describe, expect, it } from 'vitest';
import { normalizedName } from './images.ts';

describe('normalizedName', () => {
  it('names an image as containerd\'s CRI plugin looks a pod\'s reference up', () => {
    expect(normalizedName('trellis/proxy:0.1.0')).toBe('docker.io/trellis/proxy:0.1.0');
    expect(normalizedName('busybox')).toBe('docker.io/library/busybox:latest');
    expect(normalizedName('localhost/trellis/pause:v1.34.4')).toBe('localhost/trellis/pause:v1.34.4');
    expect(normalizedName('ghcr.io/acme/trellis/proxy')).toBe('ghcr.io/acme/trellis/proxy:latest');
    expect(normalizedName('127.0.0.1:5000/x:1')).toBe('127.0.0.1:5000/x:1');
  });
});
