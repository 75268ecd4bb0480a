import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * The one error type of promgate: a status code and a one-line reason meant for the client.
 * Every stage throws it; `app.onError` turns it into a plain-text response. The message must never
 * contain credentials or request bodies.
 */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const badRequest = (reason: string) => new HttpError(400, reason);
export const tooLarge = (reason: string) => new HttpError(413, reason);
