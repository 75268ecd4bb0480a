/**
 * A small protobuf writer for the read path's responses. Hand-written rather than the generated code so
 * Prometheus' staleness marker goes out with its exact NaN bits (see `doubleBits`).
 */
const enc = new TextEncoder();

export class ProtoWriter {
  buf = new Uint8Array(256);
  len = 0;
  private view = new DataView(this.buf.buffer);

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.len + n, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Unsigned varint of a non-negative safe integer. */
  uvarint(n: number): void {
    this.ensure(10);
    while (n >= 0x80) {
      this.buf[this.len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.len++] = n;
  }

  /** int64 varint: negatives as 10-byte two's complement. */
  int64(n: number): void {
    if (n >= 0) return this.uvarint(n);
    let v = BigInt.asUintN(64, BigInt(n));
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  tag(field: number, wire: number): void {
    this.uvarint(field * 8 + wire);
  }

  int64Field(field: number, n: number): void {
    if (n === 0) return;
    this.tag(field, 0);
    this.int64(n);
  }

  enumField(field: number, n: number): void {
    if (n === 0) return;
    this.tag(field, 0);
    this.uvarint(n);
  }

  /** A varint field written even when 0 (a oneof member is present whatever its value). */
  uvarintFieldAlways(field: number, n: number): void {
    this.tag(field, 0);
    this.uvarint(n);
  }

  /** sint32/sint64 (zig-zag), omitted when 0. */
  sintField(field: number, n: number): void {
    if (n === 0) return;
    this.tag(field, 0);
    this.zigzag(n);
  }

  private zigzag(n: number): void {
    if (Math.abs(n) < 2 ** 52) this.uvarint(n >= 0 ? n * 2 : -n * 2 - 1);
    else {
      let v = BigInt.asUintN(64, (BigInt(n) << 1n) ^ (BigInt(n) >> 63n));
      this.ensure(10);
      while (v >= 0x80n) {
        this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
        v >>= 7n;
      }
      this.buf[this.len++] = Number(v);
    }
  }

  /** repeated sint64, packed; nothing when empty. */
  packedSint(field: number, values: number[]): void {
    if (values.length === 0) return;
    this.message(field, (w) => {
      for (const v of values) w.zigzag(v);
    });
  }

  /** repeated double, packed; nothing when empty. */
  packedDouble(field: number, values: number[]): void {
    if (values.length === 0) return;
    this.tag(field, 2);
    this.uvarint(values.length * 8);
    this.ensure(values.length * 8);
    for (const v of values) {
      this.view.setFloat64(this.len, v, true);
      this.len += 8;
    }
  }

  /** A double given as its two 32-bit halves, written exactly. */
  doubleBits(field: number, lo: number, hi: number): void {
    this.tag(field, 1);
    this.ensure(8);
    this.view.setUint32(this.len, lo, true);
    this.view.setUint32(this.len + 4, hi, true);
    this.len += 8;
  }

  double(field: number, v: number): void {
    this.tag(field, 1);
    this.ensure(8);
    this.view.setFloat64(this.len, v, true);
    this.len += 8;
  }

  bytes(field: number, data: Uint8Array): void {
    this.bytesRange(field, data, 0, data.length);
  }

  /** A bytes/string field from buf[start, end), without making a view of it first (views cost on hot paths). */
  bytesRange(field: number, buf: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.tag(field, 2);
    this.uvarint(n);
    this.ensure(n);
    // Short ranges (label names and values, mostly) are copied by hand: cheaper than a view and a set.
    if (n <= 32) for (let i = 0; i < n; i++) this.buf[this.len + i] = buf[start + i]!;
    else this.buf.set(n === buf.length ? buf : buf.subarray(start, end), this.len);
    this.len += n;
  }

  /** Bytes that are already encoded fields (a message kept as sent), appended as they are. */
  raw(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  string(field: number, s: string): void {
    this.bytes(field, enc.encode(s));
  }

  /** Writes a nested message built by `build` into a scratch writer. */
  message(field: number, build: (w: ProtoWriter) => void): void {
    const child = new ProtoWriter();
    build(child);
    this.bytes(field, child.finish());
  }

  finish(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.len);
  }
}
