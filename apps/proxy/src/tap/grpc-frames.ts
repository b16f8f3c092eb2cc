// gRPC's length-prefixed messages on an HTTP/2 stream: a flag byte (0: not compressed), a big-endian uint32
// length, the message. The tap server reads one request message here; its events are framed as they are written
// (proto-writer.ts).

/** One frame around an encoded message. */
export function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.byteLength);
  out[0] = 0;
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}

/** Reads the single message of a unary request body; a clear error for anything else. */
export function unframeOne(body: Buffer, maxBytes: number): Uint8Array {
  if (body.length < 5) throw new Error(`request body of ${body.length} bytes holds no gRPC message`);
  if (body[0] !== 0) throw new Error('compressed request messages are not accepted');
  const len = body.readUInt32BE(1);
  if (len > maxBytes) throw new Error(`request message of ${len} bytes exceeds ${maxBytes}`);
  if (body.length !== 5 + len) throw new Error(`request body of ${body.length} bytes does not hold exactly one message of ${len} bytes`);
  return body.subarray(5);
}
