import { loadSetupConfig } from "./config.js";
import { esClient, setup } from "./elastic/setup.js";

/** `promgate <command>`: operator commands that run on Node. */
const USAGE = `usage: promgate setup

  setup   install promgate's index and component templates in Elasticsearch (idempotent)

Environment: ES_URL, ES_API_KEY or ES_USERNAME/ES_PASSWORD, PROMGATE_LOOK_BACK_TIME (default 2h),
PROMGATE_RETENTION (e.g. 90d; default: keep forever), PROMGATE_FAILURE_STORE (true/false; default: where
supported), PROMGATE_METADATA_INDEX (default promgate-metadata), PROMGATE_EXEMPLAR_INDEX (default
promgate-exemplars), PROMGATE_HA_INDEX (default promgate-ha-replicas).`;

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command !== "setup") {
    console.error(USAGE);
    return command === "--help" || command === "-h" ? 0 : 2;
  }
  const config = loadSetupConfig(process.env);
  const { lookBackTime, retention, failureStore, metadataIndex, exemplarIndex, haIndex, chunksIndex } = config;
  const report = await setup(esClient(config), {
    ...(lookBackTime !== undefined ? { lookBackTime } : {}),
    ...(retention !== undefined ? { retention } : {}),
    ...(failureStore !== undefined ? { failureStore } : {}),
    metadataIndex,
    exemplarIndex,
    haIndex,
    chunksIndex,
  });
  console.log(`promgate setup: Elasticsearch ${report.version} at ${config.esUrl}`);
  for (const a of report.actions) console.log(`  ${a.action.padEnd(9)} ${a.kind} ${a.name}`);
  for (const n of report.notes) console.log(`  note: ${n}`);
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
