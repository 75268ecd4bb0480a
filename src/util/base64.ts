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
