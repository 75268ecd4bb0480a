import { Compactor, type StepOutcome } from "./chunks/compactor.js";
import { loadConfig, loadSetupConfig } from "./config.js";
import { createGatewayKey } from "./elastic/credentials.js";
import { compactorRole, gatewayRole } from "./elastic/privileges.js";
import { esClient, setup } from "./elastic/setup.js";
import { parseSetupArgs, type SetupArgs } from "./elastic/setup-args.js";

/** `promgate <command>`: operator commands that run on Node. */
const USAGE = `usage: promgate setup [--replicas N] [--api-key [NAME]] [--print-role [gateway|compactor]] | promgate compact

  setup                 install promgate's index and component templates in Elasticsearch (idempotent);
                        run it with an administrator's credentials
  setup --replicas N    replicas of each metrics backing index (default: Elasticsearch's, 1); applies to
                        backing indices created after it (a new stream, or the next rollover)
  setup --api-key [NAME]
                        also create the promgate_gateway role and an API key limited to it (default name
                        promgate-gateway) and print the encoded key once: the ES_API_KEY promgate runs with
                        (wrangler secret put ES_API_KEY)
  setup --print-role [gateway|compactor]
                        print the least-privileged role as JSON and exit (no Elasticsearch needed): for
                        PUT /_security/role/<name>, or as a roles.yml entry of the file realm
  compact               compact every settled window of every metric data stream into the chunk index, then
                        exit (resumable; PROMGATE_CHUNKS_INDEX, PROMGATE_CHUNKS_SETTLE as for the gateway)

Environment: ES_URL, ES_API_KEY or ES_USERNAME/ES_PASSWORD, PROMGATE_LOOK_BACK_TIME (default 2h),
PROMGATE_RETENTION (e.g. 90d; default: keep forever), PROMGATE_FAILURE_STORE (true/false; default: where
supported), PROMGATE_METADATA_INDEX (default promgate-metadata), PROMGATE_EXEMPLAR_INDEX (default
promgate-exemplars), PROMGATE_HA_INDEX (default promgate-ha-replicas).`;

const day = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

function describe(step: StepOutcome): string {
  switch (step.kind) {
    case "window":
      return `  compacted ${step.stream} ${day(step.start)}: ${step.series} series, ${step.samples} samples`;
    case "skipped":
      return `  no data   ${step.stream} ${day(step.from)} … ${day(step.to)}`;
    case "dirty":
      return `  redone    ${day(step.start)}: ${step.streams.length > 0 ? step.streams.join(", ") : "nothing differed"}`;
    case "idle":
      return "  up to date";
  }
}

/** `promgate compact`: steps until nothing settled is left, printing each. */
async function compact(): Promise<number> {
  // Compaction needs the Elasticsearch connection and the chunk settings only; tenants play no part.
  const config = loadConfig({ ...process.env, PROMGATE_AUTH: "none", PROMGATE_TENANTS: "", PROMGATE_CHUNKS: "true" });
  const compactor = new Compactor({ ...config, chunks: config.chunks! }, (input, init) => fetch(input, init));
  const t0 = performance.now();
  let samples = 0;
  for (;;) {
    const step = await compactor.step();
    console.log(describe(step));
    if (step.kind === "window") samples += step.samples;
    if (step.kind === "idle") break;
  }
  const s = (performance.now() - t0) / 1000;
  console.log(`promgate compact: ${samples} samples in ${s.toFixed(1)} s (${Math.round(samples / Math.max(s, 1e-9))} samples/s)`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "compact") return compact();
  if (command !== "setup") {
    console.error(USAGE);
    return command === "--help" || command === "-h" ? 0 : 2;
  }
  let args: SetupArgs;
  try {
    args = parseSetupArgs(rest);
  } catch (e) {
    console.error(`promgate: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const config = loadSetupConfig(process.env);
  const { lookBackTime, retention, failureStore, metadataIndex, exemplarIndex, haIndex, chunksIndex } = config;
  if (args.printRole) {
    const role = args.printRole === "gateway" ? gatewayRole({ metadataIndex, exemplarIndex, haIndex, chunksIndex }) : compactorRole({ chunksIndex });
    console.log(JSON.stringify(role, null, 2));
    return 0;
  }
  const client = esClient(config);
  const report = await setup(client, {
    ...(lookBackTime !== undefined ? { lookBackTime } : {}),
    ...(retention !== undefined ? { retention } : {}),
    ...(failureStore !== undefined ? { failureStore } : {}),
    metadataIndex,
    exemplarIndex,
    haIndex,
    chunksIndex,
    ...(args.replicas !== undefined ? { replicas: args.replicas } : {}),
  });
  console.log(`promgate setup: Elasticsearch ${report.version} at ${config.esUrls.join(", ")}`);
  for (const a of report.actions) console.log(`  ${a.action.padEnd(9)} ${a.kind} ${a.name}`);
  for (const n of report.notes) console.log(`  note: ${n}`);
  if (args.apiKeyName !== undefined) {
    const key = await createGatewayKey(client, { metadataIndex, exemplarIndex, haIndex, chunksIndex, keyName: args.apiKeyName });
    console.log(`  created   role promgate_gateway and API key ${key.name} (id ${key.id})`);
    console.log("promgate runs with this key (shown once; store it as a secret, e.g. `wrangler secret put ES_API_KEY`):");
    console.log(`ES_API_KEY=${key.encoded}`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    // The client's errors carry the response body, never our credentials.
    console.error(`promgate: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
