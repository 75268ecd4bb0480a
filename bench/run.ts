import { benchIngest } from "./ingest.js";

const fmt = (n: number, d = 2) => n.toFixed(d);

const rows = benchIngest();
console.log("ingest: decode → _bulk body (node " + process.version + ", one core)");
console.log("samples  compressed  decoded   naive ms  ours ms  speedup  ours samples/s  peak alloc (× decoded)");
for (const r of rows) {
  console.log(
    [
      String(r.samples).padStart(7),
      `${r.compressedBytes} B`.padStart(11),
      `${r.decodedBytes} B`.padStart(9),
      fmt(r.naiveMs, 3).padStart(9),
      fmt(r.oursMs, 3).padStart(8),
      `${fmt(r.speedup, 1)}×`.padStart(8),
      `${(r.oursSamplesPerSec / 1e6).toFixed(2)} M`.padStart(15),
      r.peakBytes === undefined ? "  (run with --expose-gc)" : `  ${(r.peakBytes / 1024).toFixed(0)} KiB (${fmt(r.peakRatio!, 2)}×)`,
    ].join(" "),
  );
}
