import { PromgateError } from "../errors.js";
import type { CompiledMatcher } from "./matchers.js";
import { Lru } from "../util/lru.js";

/**
 * Elasticsearch refuses some `regexp` queries that are valid RE2 and that promgate translated faithfully:
 * Lucene determinizes the automaton and gives up past 10,000 steps of effort (`.*a.{20}`,
 * `(a|b)*a(a|b){20}`: exponential in the count), and an index may set `index.max_regex_length` below the
 * default promgate keeps to. Which pattern will be refused cannot be told beforehand, so the read runs
 * again with the selector's regexes matched in promgate alone (they always are checked there too), and
 * the selector is remembered so that its later reads skip the refused round trip.
 */

/** A search Elasticsearch refused because of a `regexp` clause. */
export class RegexpRefused extends PromgateError {}

/** Whether a 400 answer from Elasticsearch is such a refusal (its root causes name it). */
export async function isRegexpRefusal(res: Response): Promise<boolean> {
  if (res.status !== 400) return false;
  const text = await res.clone().text().catch(() => "");
  return text.includes("too_complex_to_determinize_exception") || text.includes("index.max_regex_length");
}

/** The selectors (by their regexes) whose `regexp` clauses Elasticsearch refused lately. */
export class RefusedRegexps {
  private readonly refused = new Lru<string, true>(256, 1 << 22);

  private static key(matchers: CompiledMatcher[]): string {
    return JSON.stringify(matchers.filter((m) => m.type === "=~" || m.type === "!~").map((m) => [m.name, m.type, m.value]));
  }

  /**
   * `read(true)`: regexes go to Elasticsearch where they translate; if it refuses one, `read(false)`:
   * they stay in promgate. A selector refused lately goes straight to `read(false)`.
   */
  async retry<T>(matchers: CompiledMatcher[], read: (pushRegexps: boolean) => Promise<T>): Promise<T> {
    const key = RefusedRegexps.key(matchers);
    if (this.refused.get(key)) return read(false);
    try {
      return await read(true);
    } catch (e) {
      if (!(e instanceof RegexpRefused)) throw e;
      this.refused.set(key, true, key.length);
      return read(false);
    }
  }
}
