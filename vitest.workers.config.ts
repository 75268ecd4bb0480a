import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// The app inside workerd: same sources, the Workers runtime's APIs (see test/workers). The rate-limiting
// binding, optional in wrangler.toml (commented out there), is given to the tests here; only the test that
// passes it to the Worker's env uses it.
export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: { ratelimits: { PROMGATE_RATE_LIMITER: { simple: { limit: 3, period: 60 } } } },
    }),
  ],
  test: { name: "workers", include: ["test/workers/**/*.test.ts"] },
});
