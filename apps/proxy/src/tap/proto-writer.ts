// A small protobuf writer for the tap's events: varints, strings and bytes appended to one growing buffer, nested
// messages length-prefixed in place, and gRPC's 5-byte message prefix. The events are written straight into the
// buffer their stream sends, so encoding one allocates nothing but the buffer's occasional growth.

export class ProtoWriter {
  #buf: Buffer;
  #pos = 0;
  // Where each open nested message's length goes, innermost last; and the open gRPC message's prefix.
  readonly #open: number[] = [];
  #frame = -1;

  constructor(initialBytes = 4096) {
    this.#buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes written since the last take. */
  get length(): number {
    return this.#pos;
  }

  /** A copy of what was written, for a write that outlives the writer's buffer; the writer starts again. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.#pos);
    this.#buf.copy(out, 0, 0, this.#pos);
    this.#pos = 0;
    return out;
  }

  /** Drops what was written. */
  clear(): void {
    this.#pos = 0;
    this.#open.length = 0;
  }

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(grown, 0, 0, this.#pos);
    this.#buf = grown;
  }

  /** An unsigned varint of up to 2^53 (uint32, uint64 and non-negative int64 fields, tags, lengths). */
  varint(v: number): void {
    this.#room(10);
    const b = this.#buf;
    // Tags, small numbers and most lengths: one byte.
    if (v < 128) {
      b[this.#pos++] = v;
      return;
    }
    let p = this.#pos;
    while (v > 0x7fffffff) {
      b[p++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    while (v > 0x7f) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.#pos = p;
  }

  /** A varint field, written even when zero (a oneof's member, or an enum that is set). */
  uintFieldAlways(field: number, v: number): void {
    this.varint(field << 3);
    this.varint(v);
  }

  /** A varint field; proto3 leaves zero out. */
  uintField(field: number, v: number): void {
    if (v === 0) return;
    this.varint(field << 3);
    this.varint(v);
  }

  /** A string field; proto3 leaves the empty string out. */
  stringField(field: number, s: string): void {
    if (s === '') return;
    this.varint((field << 3) | 2);
    // At most 3 bytes per UTF-16 unit; the length prefix is written after the bytes it counts.
    const max = s.length * 3;
    if (max < 128) {
      this.#room(1 + max);
      const n = this.#buf.write(s, this.#pos + 1);
      this.#buf[this.#pos] = n;
      this.#pos += 1 + n;
      return;
    }
    this.varint(Buffer.byteLength(s));
    this.#room(max);
    this.#pos += this.#buf.write(s, this.#pos);
  }

  /** Bytes already encoded (a pre-encoded part of a message). */
  raw(bytes: Uint8Array): void {
    this.#room(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
  }

  /** Starts a length-delimited field (a nested message), ended by `end`. */
  begin(field: number): void {
    this.varint((field << 3) | 2);
    this.#room(1);
    // One byte reserved for the length, the common case; `end` makes room when the message is longer.
    this.#open.push(this.#pos++);
  }

  /** Ends the innermost nested message, writing its length before it. */
  end(): void {
    const mark = this.#open.pop() as number;
    const len = this.#pos - mark - 1;
    if (len < 128) {
      this.#buf[mark] = len;
      return;
    }
    let extra = 0;
    for (let v = len >>> 7; v > 0; v >>>= 7) extra++;
    this.#room(extra);
    this.#buf.copy(this.#buf, mark + 1 + extra, mark + 1, this.#pos);
    let p = mark;
    let v = len;
    while (v > 0x7f) {
      this.#buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.#buf[p] = v;
    this.#pos += extra;
  }

  /** Starts a gRPC message (not compressed, its length written by `endFrame`). */
  beginFrame(): void {
    this.#room(5);
    this.#frame = this.#pos;
    this.#buf[this.#pos] = 0;
    this.#pos += 5;
  }

  endFrame(): void {
    this.#buf.writeUInt32BE(this.#pos - this.#frame - 5, this.#frame + 1);
  }
}
