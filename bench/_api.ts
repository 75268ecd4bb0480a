import { createApp, defaultDeps } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
const app = createApp(loadConfig({ ES_URL: "http://127.0.0.1:19200", ES_USERNAME: "elastic", ES_PASSWORD: "promgate-dev", PROMGATE_TENANTS: JSON.stringify({ dev: { password: "x" } }) }), defaultDeps());
const h = { authorization: "Basic " + btoa("dev:x") };
for (const u of ["/api/v1/series?match[]=http_requests_total{path=~\"/b.*\"}", "/api/v1/series?match[]=up", "/api/v1/labels", "/api/v1/label/instance/values", "/api/v1/label/__name__/values?match[]={job=~\"a.+\"}", "/metrics/dev/x/api/v1/label/path/values", "/api/v1/metadata?limit=2", "/api/v1/series", "/api/v1/series?match[]={job=~\".*\"}", "/api/v1/status/buildinfo"]) {
  const r = await app.request(u, { headers: h });
  console.log(r.status, u, (await r.text()).slice(0, 300));
}
const r = await app.request("/api/v1/series", { method: "POST", headers: { ...h, "content-type": "application/x-www-form-urlencoded" }, body: "match[]=up&start=0" });
console.log(r.status, "POST", await r.text());
