import type { Client } from "@elastic/elasticsearch";
import { GATEWAY_ROLE, gatewayRole, type RoleOptions } from "./privileges.js";

/**
 * `promgate setup --api-key`: the least-privileged credential the gateway runs with. The role is stored
 * under its name (for administrators to grant to users too) and embedded in the API key: an API key cannot
 * name a role, its privileges are the intersection of the descriptors it carries and its creator's.
 */

export interface GatewayKey {
  id: string;
  name: string;
  /** `base64(id:api_key)`: the value of ES_API_KEY; shown once, Elasticsearch keeps only a hash. */
  encoded: string;
}

export async function createGatewayKey(client: Client, o: RoleOptions & { keyName: string }): Promise<GatewayKey> {
  const role = gatewayRole(o);
  try {
    await client.security.putRole({ name: GATEWAY_ROLE, ...role });
    const key = await client.security.createApiKey({
      name: o.keyName,
      role_descriptors: { [GATEWAY_ROLE]: role },
      metadata: { managed_by: "promgate" },
    });
    return { id: key.id, name: key.name, encoded: key.encoded };
  } catch (e) {
    throw new Error(
      `could not create the ${GATEWAY_ROLE} role and API key (${reason(e)}); ` +
        "where the cluster has no native security store, define the role from `promgate setup --print-role` " +
        "in roles.yml and give it to a file-realm user",
    );
  }
}

/** The client's error message is only the type; Elasticsearch's reason says what is missing. */
function reason(e: unknown): string {
  const body = (e as { meta?: { body?: { error?: { type?: string; reason?: string } } } }).meta?.body;
  if (body?.error?.reason) return `${body.error.type ?? "error"}: ${body.error.reason}`;
  return e instanceof Error ? e.message : String(e);
}
