import { create } from "@bufbuild/protobuf";
import { type ReadRequest, ReadRequest_ResponseType, ReadRequestSchema } from "../../src/gen/prometheus/remote_pb.js";
import type { ReadStorage } from "../../src/query/remote/read.js";
import type { ReadScope } from "../../src/query/scope.js";
import type { SeriesSamples } from "../../src/query/storage/types.js";

/**
 * Storage that answers every read with the given series (matchers and range are Elasticsearch's job, tested
 * in test/integration): for driving the remote_read encoders with samples Elasticsearch cannot hold yet.
 */
export function fixedStorage(all: SeriesSamples[]): ReadStorage {
  return {
    snapshot: (scope, read) => read(scope),
    series: async () => all.map(({ key, labels }) => ({ key, labels })),
    samples: async (_scope, _matchers, _range, series, _max, onSeries) => {
      const keys = new Set(series.map((s) => s.key));
      const out = all.filter((s) => keys.has(s.key));
      if (!onSeries) return out;
      for (const s of out) onSeries(s);
      return [];
    },
  };
}

export const anyScope: ReadScope = { indices: "metrics-*", filter: {}, routePatterns: undefined, tenantPatterns: [] };

/** A one-query ReadRequest over all time, accepting `type`. */
export function readAll(type: ReadRequest_ResponseType, func = ""): ReadRequest {
  return create(ReadRequestSchema, {
    queries: [
      {
        startTimestampMs: -(2n ** 62n),
        endTimestampMs: 2n ** 62n,
        matchers: [{ type: 0, name: "job", value: "reference" }],
        ...(func ? { hints: { func } } : {}),
      },
    ],
    acceptedResponseTypes: [type],
  });
}

export { ReadRequest_ResponseType };
