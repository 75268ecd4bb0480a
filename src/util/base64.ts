/** UTF-8 text ⇄ base64, for HTTP Basic credentials (btoa/atob alone only handle Latin-1). */
const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function base64FromText(text: string): string {
  let binary = "";
  for (const b of enc.encode(text)) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Returns undefined for anything that is not valid base64 of valid UTF-8. */
export function textFromBase64(b64: string): string | undefined {
  try {
    const binary = atob(b64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return dec.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Bytes → standard base64 (what Elasticsearch and JSON carry). */
export function base64FromBytes(bytes: Uint8Array): string {
  let binary = "";
  // In slices: String.fromCharCode with one argument per byte would overflow the stack on large inputs.
  for (let i = 0; i < bytes.length; i += 0x2000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x2000));
  return btoa(binary);
}

/** Standard base64 → bytes; undefined when it is not base64. */
export function bytesFromBase64(b64: string): Uint8Array | undefined {
  try {
    const binary = atob(b64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}

const B64_VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_VALUE["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".charCodeAt(i)] = i;

/**
 * Standard padded base64 → bytes by table, without atob's string of Latin-1 characters in between (chunk
 * documents decode megabytes of it per query); undefined for anything else (no whitespace, no missing padding).
 */
export function bytesFromPaddedBase64(b64: string): Uint8Array | undefined {
  const n = b64.length;
  if (n % 4 !== 0) return undefined;
  const pad = n === 0 ? 0 : b64.charCodeAt(n - 1) === 61 ? (b64.charCodeAt(n - 2) === 61 ? 2 : 1) : 0;
  const out = new Uint8Array((n / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < n; i += 4) {
    const last = i + 4 === n;
    const c0 = B64_VALUE[b64.charCodeAt(i)] ?? -1;
    const c1 = B64_VALUE[b64.charCodeAt(i + 1)] ?? -1;
    const c2 = last && pad === 2 ? 0 : (B64_VALUE[b64.charCodeAt(i + 2)] ?? -1);
    const c3 = last && pad >= 1 ? 0 : (B64_VALUE[b64.charCodeAt(i + 3)] ?? -1);
    if ((c0 | c1 | c2 | c3) < 0) return undefined;
    const v = (c0 << 18) | (c1 << 12) | (c2 << 6) | c3;
    out[o++] = v >>> 16;
    if (o < out.length) out[o++] = (v >>> 8) & 0xff;
    if (o < out.length) out[o++] = v & 0xff;
  }
  return out;
}
