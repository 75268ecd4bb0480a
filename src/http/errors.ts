import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ErrorKind } from "../errors.js";

/**
 * The one place where promgate's error kinds become HTTP statuses; `app.onError` and the query API's error
 * envelope both ask here.
 */
const STATUS: Record<ErrorKind, ContentfulStatusCode> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  internal: 500,
  storage_failed: 502,
  unavailable: 503,
};

export const statusOf = (kind: ErrorKind): ContentfulStatusCode => STATUS[kind];

/** The `errorType` of Prometheus' JSON API envelope for each kind (a query timeout is "timeout"). */
const API_ERROR_TYPE: Record<ErrorKind, string> = {
  invalid: "bad_data",
  unauthenticated: "unauthorized",
  forbidden: "forbidden",
  not_found: "not_found",
  method_not_allowed: "bad_data",
  too_large: "bad_data",
  unsupported_media_type: "bad_data",
  unprocessable: "execution",
  rate_limited: "bad_data",
  internal: "internal",
  storage_failed: "internal",
  unavailable: "unavailable",
};

export const apiErrorType = (kind: ErrorKind): string => API_ERROR_TYPE[kind];
