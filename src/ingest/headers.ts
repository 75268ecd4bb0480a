import { PromgateError } from "../errors.js";

/**
 * Remote-write content negotiation (PRW 1.0 §"Protocol", PRW 2.0 §"Content-Type"): the body must be
 * snappy block-compressed protobuf. `proto=` names the message; none means PRW 1.0. A receiver answers
 * 415 for a message it does not accept, which tells a PRW 2.0 sender to fall back.
 */
export type WireProtocol = "prw1" | "prw2";

export function checkWriteHeaders(contentType: string | undefined, contentEncoding: string | undefined): WireProtocol {
  if (!contentEncoding || contentEncoding.trim().toLowerCase() !== "snappy") {
    throw new PromgateError("unsupported_media_type", `unsupported Content-Encoding "${contentEncoding ?? ""}": remote_write bodies must be snappy`);
  }
  const [media, ...params] = (contentType ?? "").split(";").map((s) => s.trim());
  if (media?.toLowerCase() !== "application/x-protobuf") {
    throw new PromgateError("unsupported_media_type", `unsupported Content-Type "${contentType ?? ""}": expected application/x-protobuf`);
  }
  for (const p of params) {
    const eq = p.indexOf("=");
    if (eq < 0) continue;
    if (p.slice(0, eq).trim().toLowerCase() !== "proto") continue;
    const proto = p.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
    if (proto === "prometheus.WriteRequest") return "prw1";
    if (proto === "io.prometheus.write.v2.Request") return "prw2";
    throw new PromgateError("unsupported_media_type", `unsupported remote_write message "${proto}": this receiver accepts prometheus.WriteRequest (1.0) and io.prometheus.write.v2.Request (2.0)`);
  }
  return "prw1";
}
