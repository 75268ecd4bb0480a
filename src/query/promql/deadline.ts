import { PromgateError } from "../../errors.js";

/** The query timeout: evaluation checks the deadline between steps and before each read, so it cannot hang. */
export class QueryTimeoutError extends PromgateError {
  constructor(what = "expression evaluation") {
    super("unavailable", `query timed out in ${what}`);
  }
}

export function checkDeadline(deadline: number, what?: string): void {
  if (deadline !== Infinity && Date.now() > deadline) throw new QueryTimeoutError(what);
}
