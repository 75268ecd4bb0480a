import { PromgateError, tooLarge } from "../errors.js";

/**
 * Reads a request body of at most `max` bytes. A declared Content-Length over the cap is refused before
 * anything is read; a chunked body is counted while it streams and abandoned at the cap, so a client can
 * never make us buffer more than `max`.
 */
export async function readBody(req: Request, max: number, limitName: string): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null) {
    const n = Number(declared);
    if (!/^\d+$/.test(declared.trim()) || !Number.isSafeInteger(n)) throw new PromgateError("invalid", "invalid Content-Length");
    if (n > max) throw tooLarge(`body of ${n} bytes exceeds ${limitName} ${max}`);
  }
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(`body exceeds ${limitName} ${max}`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}
