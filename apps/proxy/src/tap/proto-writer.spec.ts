import { describe, expect, it } from 'vitest';
import { tap } from '@trellis/proto';
import { ProtoWriter } from './proto-writer.ts';

describe('ProtoWriter', () => {
  it('writes varints of every width as the generated encoder does', () => {
    for (const [base, stream] of [
      [0, 0],
      [1, 127],
      [128, 16_383],
      [16_384, 2 ** 21],
      [0x7fffffff, 2 ** 31],
      [0xffffffff, 2 ** 32 + 5],
      [1, Number.MAX_SAFE_INTEGER],
    ] as const) {
      const w = new ProtoWriter(1);
      w.uintField(1, base);
      w.uintField(2, stream);
      const want = tap.TapEvent_Http_StreamId.encode({ base, stream: BigInt(stream) }).finish();
      expect(w.take().equals(want), `${base} ${stream}`).toBe(true);
    }
  });

  it('prefixes nested messages with their length, however long, and strings with their UTF-8 length', () => {
    for (const size of [0, 1, 42, 127, 128, 300, 16_383, 16_384, 40_000]) {
      const value = '\u00e9'.repeat(size >> 1) + 'x'.repeat(size & 1);
      const headers = { headers: ['a', 'b'].map((name) => ({ name, value: Buffer.from(value) })) };
      const w = new ProtoWriter(4);
      w.begin(6);
      for (const name of ['a', 'b']) {
        w.begin(1);
        w.stringField(1, name);
        w.stringField(2, value);
        w.end();
      }
      w.end();
      const want = tap.TapEvent_Http_RequestInit.encode({ id: undefined, method: undefined, scheme: undefined, authority: '', path: '', headers }).finish();
      const got = w.take();
      expect(got.equals(want), `${size}`).toBe(true);
      expect(tap.TapEvent_Http_RequestInit.decode(got).headers).toEqual(headers);
    }
  });

  it('frames messages as gRPC does and hands back a copy, starting again empty', () => {
    const w = new ProtoWriter(2);
    w.beginFrame();
    w.stringField(5, '/api/list');
    w.endFrame();
    const first = w.take();
    expect([...first.subarray(0, 5)]).toEqual([0, 0, 0, 0, 11]);
    expect(w.length).toBe(0);
    w.beginFrame();
    w.endFrame();
    expect([...w.take()]).toEqual([0, 0, 0, 0, 0]);
    expect(first.subarray(5).toString('latin1')).toBe('*\t/api/list');
  });
});
