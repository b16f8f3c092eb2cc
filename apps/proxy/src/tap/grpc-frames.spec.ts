import { describe, expect, it } from 'vitest';
import { frame, unframeOne } from './grpc-frames.ts';

describe('gRPC frames', () => {
  it('round-trips one message', () => {
    const f = frame(Buffer.from('hello'));
    expect([...f.subarray(0, 5)]).toEqual([0, 0, 0, 0, 5]);
    expect(Buffer.from(unframeOne(f, 100)).toString()).toBe('hello');
  });

  it('refuses short, compressed, oversized and trailing bodies with the reason', () => {
    expect(() => unframeOne(Buffer.alloc(3), 100)).toThrow(/3 bytes holds no gRPC message/);
    expect(() => unframeOne(Buffer.from([1, 0, 0, 0, 0]), 100)).toThrow(/compressed/);
    expect(() => unframeOne(frame(Buffer.alloc(200)), 100)).toThrow(/200 bytes exceeds 100/);
    expect(() => unframeOne(Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('b'))]), 100)).toThrow(/exactly one message/);
  });
});
