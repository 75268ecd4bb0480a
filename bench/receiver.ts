import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, start, waitFor } from "../test/helpers/processes.js";

/**
 * Prometheus 3 as the reference of a benchmark: an empty TSDB fed through its remote write receiver, taking
 * samples up to 26 h old (the benchmarks write a day of history at once), or `outOfOrder` old.
 */
export async function startReferencePrometheus(bin: string, name: string, outOfOrder = "26h"): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), `promgate-bench-${name}-`));
  const port = await freePort();
  writeFileSync(join(dir, "p.yml"), `storage:\n  tsdb:\n    out_of_order_time_window: ${outOfOrder}\n`);
  const prom = start(bin, [`--config.file=${join(dir, "p.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--web.enable-remote-write-receiver"]);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor("Prometheus 3", async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), 60_000);
  } catch (e) {
    await prom.stop();
    throw e;
  }
  return { url, stop: () => prom.stop() };
}
