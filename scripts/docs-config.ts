import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { withConfigTable } from "../src/config/docs.js";

/** `npm run docs:config`: rewrites docs/configuration.md's tables (settings, tenant fields) from src/config/schema.ts. */
const page = resolve(import.meta.dirname, "../docs/configuration.md");
const updated = withConfigTable(readFileSync(page, "utf8"));
if (updated === undefined) {
  console.error("docs/configuration.md lacks table markers (config-table:start / config-table:end, tenant-table:start / tenant-table:end)");
  process.exit(1);
}
writeFileSync(page, updated);
console.log("docs/configuration.md: configuration tables written");
