/**
 * promgate's version, as `/api/v1/status/buildinfo`, `promgate_build_info` and the status page show it.
 * Kept equal to package.json's `version` (a unit test checks), in a module of its own so that every part
 * that shows it imports it from one place without pulling in the query API.
 */
export const PROMGATE_VERSION = "0.1.0";
