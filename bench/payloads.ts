import { type SeriesSpec, writeBody } from "../test/helpers/payload.js";

/**
 * node_exporter-like requests built in code: one sample per series, about 9 labels each (as a 15 s scrape
 * of many nodes gives), metric names and label values varied like the real thing.
 */
const METRICS = [
  ["node_cpu_seconds_total", (i: number) => ({ cpu: String(i % 16), mode: ["user", "system", "idle", "iowait"][i % 4]! })],
  ["node_network_receive_bytes_total", (i: number) => ({ device: `eth${i % 4}`, mode: "rx" })],
  ["node_filesystem_avail_bytes", (i: number) => ({ device: `/dev/nvme0n1p${i % 3}`, fstype: "ext4", mountpoint: `/mnt/d${i % 7}` })],
  ["node_memory_MemAvailable_bytes", (_i: number) => ({ mode: "none" })],
  ["node_disk_io_time_seconds_total", (i: number) => ({ device: `sd${"abcd"[i % 4]}`, mode: "io" })],
] as const;

export function nodeExporterSeries(samples: number, timestampMs: number, offset = 0): SeriesSpec[] {
  const series: SeriesSpec[] = [];
  for (let k = 0; k < samples; k++) {
    const i = k + offset;
    const [name, extra] = METRICS[i % METRICS.length]!;
    series.push({
      labels: {
        __name__: name,
        instance: `10.0.${Math.floor(i / 12800)}.${Math.floor(i / 50) % 256}:9100`,
        job: "node",
        env: "prod",
        region: "eu-west-1",
        ...extra(i),
        pod: `p${i % 50}`, // with instance, makes every series of a request distinct, as in a real scrape
      },
      samples: [[timestampMs, (i * 1234.5678) % 100000]],
    });
  }
  return series;
}

export function nodeExporterBody(samples: number, timestampMs: number, offset = 0): Uint8Array<ArrayBuffer> {
  return writeBody(nodeExporterSeries(samples, timestampMs, offset));
}
