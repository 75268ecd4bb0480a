import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { withConfigTable } from "../src/config/docs.js";

/** `npm run docs:config`: rewrites README.md's configuration tables (settings, tenant fields) from src/config/schema.ts. */
const readme = resolve(import.meta.dirname, "../README.md");
const updated = withConfigTable(readFileSync(readme, "utf8"));
if (updated === undefined) {
  console.error("README.md lacks table markers (config-table:start / config-table:end, tenant-table:start / tenant-table:end)");
  process.exit(1);
}
writeFileSync(readme, updated);
console.log("README.md: configuration tables written");
