import type { LogLevel } from "../app.js";
import type { Config } from "../config.js";
import type { Fetch } from "../elastic/http.js";
import { dataStreamName } from "../ingest/streams.js";
import { storeDecoded } from "../ingest/write.js";
import { ProtoWriter } from "../protobuf/writer.js";
import type { Registry, Sample } from "./registry.js";

/**
 * The aggregate view for deployments where each process or isolate has its own counters (Workers above all):
 * every `intervalSeconds` at most, the registry's samples go into Elasticsearch through the ordinary ingest
 * path (protobuf WriteRequest → documents → `_bulk`), labelled `job="promgate"` and `instance` = this
 * isolate, so `sum without(instance)(rate(promgate_…[5m]))` in PromQL covers the fleet.
 *
 * Runs only when a request arrives (no timers: Workers has none between requests).
 */

export interface SelfWriteOptions {
  dataset: string;
  intervalSeconds: number;
}

/** Samples as a PRW 1.0 WriteRequest (prometheus/prompb/remote.proto, types.proto), labels sorted by name. */
export function writeRequestOf(samples: Sample[], extra: [string, string][], timestampMs: number): Uint8Array {
  // message WriteRequest { repeated TimeSeries timeseries = 1; }
  // message TimeSeries  { repeated Label labels = 1; repeated Sample samples = 2; }
  // message Label       { string name = 1; string value = 2; }
  // message Sample      { double value = 1; int64 timestamp = 2; }
  const w = new ProtoWriter();
  for (const s of samples) {
    const labels: [string, string][] = [["__name__", s.name], ...s.labels, ...extra];
    labels.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    w.message(1, (ts) => {
      for (const [name, value] of labels) {
        ts.message(1, (l) => {
          l.string(1, name);
          l.string(2, value);
        });
      }
      ts.message(2, (smp) => {
        smp.double(1, s.value);
        smp.int64Field(2, timestampMs);
      });
    });
  }
  return w.finish();
}

export class SelfMetricsWriter {
  private last = Number.NEGATIVE_INFINITY;
  private running = false;
  readonly dataStream: string;

  constructor(
    private readonly config: Config,
    private readonly fetchFn: Fetch,
    private readonly registry: Registry,
    private readonly options: SelfWriteOptions,
    /** Identifies this process or isolate among the fleet. */
    readonly instance: string,
    private readonly log: (line: string, level: LogLevel) => void,
  ) {
    this.dataStream = dataStreamName(options.dataset, "default");
  }

  /**
   * Starts a write when the interval has passed and none is running; the promise never rejects (a failure is
   * logged: the next interval tries again). Undefined when it is not time yet.
   */
  maybeWrite(nowMs: number): Promise<void> | undefined {
    if (this.running || nowMs - this.last < this.options.intervalSeconds * 1000) return undefined;
    this.last = nowMs;
    this.running = true;
    return this.write(nowMs)
      .catch((e: unknown) => {
        this.log(JSON.stringify({ ts: new Date(nowMs).toISOString(), level: "warn", msg: "self metrics write failed", data_stream: this.dataStream, error: e instanceof Error ? e.message : String(e) }), "warn");
      })
      .finally(() => {
        this.running = false;
      });
  }

  private async write(nowMs: number): Promise<void> {
    const body = writeRequestOf(this.registry.samples(), [["instance", this.instance], ["job", "promgate"]], nowMs);
    await storeDecoded(this.config, this.fetchFn, this.config.limits, this.dataStream, body, nowMs);
  }
}
