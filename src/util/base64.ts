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
