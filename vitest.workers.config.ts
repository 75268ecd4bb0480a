import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// The app inside workerd: same sources, the Workers runtime's APIs (see test/workers).
export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" } })],
  test: { name: "workers", include: ["test/workers/**/*.test.ts"] },
});
