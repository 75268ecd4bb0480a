import { HttpError } from "../http/errors.js";

/**
 * RE2's inline flag groups — `(?flags)` for the rest of the enclosing group, `(?flags:re)` for `re`, flags
 * `i` (case-insensitive), `s` (`.` matches `\n`), `m` (`^`/`$` at line breaks), `U` (ungreedy), `-` to
 * clear — rewritten into RE2 text without flags, since JavaScript (Node 20, workerd) has no modifier groups
 * and its whole-pattern flags differ in detail (`m` also breaks at `\r`, `i` changes `\b`). Prometheus
 * compiles `^(?s:…)$`, so outside any group `s` is on and the others off; text in that default scope is
 * copied unchanged, the rest of the pipeline (matchers.ts) translates it.
 *
 * Case-insensitivity follows RE2: a character matches every member of its orbit under Unicode simple case
 * folding (`k` ~ `K` ~ U+212A KELVIN SIGN), a class is folded item by item before a negation applies
 * (`(?i)[^a-z]` excludes `A`–`Z`, `ſ`, `K`), a negated Perl / Unicode / POSIX class is the complement of its
 * folded positive (`(?i)\W` excludes `ſ` and `K`). The orbits come from the JavaScript engine's case
 * mappings, checked against its simple case folding (the `iu` flags) where a mapping goes one way only: the
 * Unicode data RE2 uses, in the engine's Unicode version (Node 20's is newer than the Go behind Prometheus
 * 3.5: it folds 110 more code points, letters added after Unicode 15).
 */

interface Flags {
  i: boolean;
  s: boolean;
  m: boolean;
  U: boolean;
}

const DEFAULT: Flags = { i: false, s: true, m: false, U: false };

const bad = (why: string, source: string) => new HttpError(400, `invalid regular expression ${JSON.stringify(source)}: ${why}`);

const u = (cp: number) => `\\u{${cp.toString(16)}}`;

/** Code point → its simple case folding orbit (only code points whose orbit has more than one member). */
let orbits: Map<number, number[]> | undefined;

function orbitTable(): Map<number, number[]> {
  if (orbits) return orbits;
  // Candidate pairs: a cased code point and its lower / upper case when that is one code point. One scan
  // over a string of all code points below U+20000 finds the cased ones, for a fast first use.
  const pairs: [number, number][] = [];
  let all = "";
  for (let base = 0; base < 0x20000; base += 4096) {
    const chunk = Array.from({ length: 4096 }, (_, k) => base + k).filter((cp) => cp < 0xd800 || cp > 0xdfff);
    all += String.fromCodePoint(...chunk);
  }
  for (const [s] of all.matchAll(/\p{Changes_When_Casemapped}/gu)) {
    const cp = s.codePointAt(0)!;
    for (const t of [s.toLowerCase(), s.toUpperCase()]) {
      const other = t.codePointAt(0)!;
      if (t !== s && t.length === String.fromCodePoint(other).length) pairs.push([cp, other]);
    }
  }
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    let r = x;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r)!;
    return r;
  };
  const join = (a: number, b: number) => {
    const [ra, rb] = [find(a), find(b)];
    if (!parent.has(rb)) parent.set(rb, rb);
    if (ra !== rb) parent.set(ra, rb);
  };
  const mapsBack = new Set(pairs.map(([a, b]) => `${a},${b}`));
  for (const [a, b] of pairs) {
    // A pair that maps both ways (a ↔ A) is a simple case folding pair. One way only (ı → I, ſ → S, K → k),
    // the mappings can be wider than folding: the engine's `iu` matching decides (ı ≁ I, ſ ~ S, K ~ k).
    if (mapsBack.has(`${b},${a}`) || new RegExp(`^${u(a)}$`, "iu").test(String.fromCodePoint(b))) join(a, b);
  }
  const groups = new Map<number, number[]>();
  for (const cp of parent.keys()) {
    const r = find(cp);
    let g = groups.get(r);
    if (!g) groups.set(r, (g = []));
    g.push(cp);
  }
  orbits = new Map();
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    g.sort((x, y) => x - y);
    for (const cp of g) orbits.set(cp, g);
  }
  return orbits;
}

/** The code points, not already matched by `cls`, that share an orbit with one it matches. */
function foldPartners(cls: RegExp): number[] {
  const out = new Set<number>();
  for (const [cp, orbit] of orbitTable()) {
    if (!cls.test(String.fromCodePoint(cp))) continue;
    for (const o of orbit) if (!cls.test(String.fromCodePoint(o))) out.add(o);
  }
  return [...out];
}

/** One item of a class or one escape: a single code point, or a class-like escape (maybe negated). */
type Atom = { cp: number; text: string } | { cls: string; negated: boolean; text: string };

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };

/** The escape at s[i] (a backslash). */
function escapeAt(s: string, i: number, source: string): Atom & { end: number } {
  const e = s[i + 1];
  if (e === undefined) throw bad("trailing backslash at end of expression", source);
  const p = /^\\([pP])(\{\^?[A-Za-z_]+\}|[A-Za-z])/.exec(s.slice(i));
  if (p) {
    const caret = p[2]!.startsWith("{^");
    const name = caret ? `{${p[2]!.slice(2)}` : p[2]!;
    return { cls: `\\p${name}`, negated: (p[1] === "P") !== caret, text: p[0], end: i + p[0].length - 1 };
  }
  if ("dswDSW".includes(e)) return { cls: `\\${e.toLowerCase()}`, negated: e !== e.toLowerCase(), text: `\\${e}`, end: i + 1 };
  if (e === "x") {
    const m = /^\\x(\{([0-9A-Fa-f]+)\}|[0-9A-Fa-f]{2})/.exec(s.slice(i));
    if (!m) throw bad("invalid escape sequence", source);
    return { cp: parseInt(m[2] ?? m[1]!, 16), text: m[0], end: i + m[0].length - 1 };
  }
  if (SIMPLE_ESCAPES[e] !== undefined) return { cp: SIMPLE_ESCAPES[e]!, text: `\\${e}`, end: i + 1 };
  if (/[\p{P}\p{S} ]/u.test(e) && e.codePointAt(0)! < 0x80) return { cp: e.codePointAt(0)!, text: `\\${e}`, end: i + 1 };
  // \b \B \A \z, octal: no character, left to the rest of the translation.
  return { cls: "", negated: false, text: `\\${e}`, end: i + 1 };
}

/** A class `[…]` at s[start], as items. */
function parseClass(s: string, start: number, source: string) {
  let i = start + 1;
  const negated = s[i] === "^";
  if (negated) i++;
  const items: Atom[] = [];
  const ranges: [number, number][] = [];
  for (let first = true; ; first = false) {
    if (i >= s.length) throw bad("missing closing ]", source);
    const c = s[i]!;
    if (c === "]" && !first) return { negated, items, ranges, end: i };
    const posix = /^\[:(\^?)([a-z]+):\]/.exec(s.slice(i));
    if (posix) {
      items.push({ cls: `[:${posix[2]}:]`, negated: posix[1] === "^", text: posix[0] });
      i += posix[0].length;
      continue;
    }
    const lo = c === "\\" ? escapeAt(s, i, source) : { cp: s.codePointAt(i)!, text: String.fromCodePoint(s.codePointAt(i)!), end: i + String.fromCodePoint(s.codePointAt(i)!).length - 1 };
    i = lo.end + 1;
    if (!("cp" in lo)) {
      items.push(lo);
      continue;
    }
    if (s[i] === "-" && s[i + 1] !== undefined && s[i + 1] !== "]") {
      const hiAt = s[i + 1] === "\\" ? escapeAt(s, i + 1, source) : { cp: s.codePointAt(i + 1)!, end: i + String.fromCodePoint(s.codePointAt(i + 1)!).length };
      if (!("cp" in hiAt)) throw bad("invalid character class range", source);
      if (hiAt.cp < lo.cp) throw bad("invalid character class range", source);
      ranges.push([lo.cp, hiAt.cp]);
      i = hiAt.end + 1;
    } else ranges.push([lo.cp, lo.cp]);
  }
}

/** A case-folded class: positive items folded together, each negated item the complement of its folded self. */
function foldedClass(positive: string, negatives: string[], negated: boolean, compile: (re2: string) => RegExp): string {
  const closure = (text: string) => text + foldPartners(compile(`[${text}]`)).map(u).join("");
  const alts: string[] = [];
  if (positive) alts.push(`[${closure(positive)}]`);
  for (const n of negatives) alts.push(`(?![${closure(n)}])[\\s\\S]`);
  if (!negated) return alts.length === 1 ? alts[0]! : `(?:${alts.join("|") || "[^\\s\\S]"})`;
  if (negatives.length === 0) return positive ? `[^${closure(positive)}]` : "[\\s\\S]";
  return `(?!${alts.length === 1 ? alts[0] : `(?:${alts.join("|")})`})[\\s\\S]`;
}

const range = ([lo, hi]: [number, number]) => (lo === hi ? u(lo) : `${u(lo)}-${u(hi)}`);

/**
 * `source` with its inline flag groups applied (see above). `compile` turns flag-free RE2 class text into a
 * RegExp (matchers.ts' translation), to find the case partners of what a class matches.
 */
export function expandInlineFlags(source: string, compile: (re2: string) => RegExp): string {
  if (!source.includes("(?")) return source;
  const stack: Flags[] = [];
  let cur: Flags = { ...DEFAULT };
  let out = "";
  const atom = (a: Atom): string => {
    if ("cp" in a) {
      if (!cur.i) return a.text;
      const orbit = orbitTable().get(a.cp);
      return orbit ? `[${orbit.map(u).join("")}]` : a.text;
    }
    if (!cur.i || a.cls === "") return a.text;
    return a.negated ? foldedClass("", [a.cls], false, compile) : foldedClass(a.cls, [], false, compile);
  };
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === "\\" && source[i + 1] === "Q") {
      const end = source.indexOf("\\E", i + 2);
      const text = source.slice(i + 2, end < 0 ? source.length : end);
      for (const ch of text) out += atom({ cp: ch.codePointAt(0)!, text: ch.replace(/[\^$\\.*+?()[\]{}|]/, "\\$&") });
      i = end < 0 ? source.length : end + 1;
    } else if (c === "\\") {
      const e = escapeAt(source, i, source);
      out += atom(e);
      i = e.end;
    } else if (c === "[") {
      const cls = parseClass(source, i, source);
      if (!cur.i) out += source.slice(i, cls.end + 1);
      else {
        const positive = cls.ranges.map(range).join("") + cls.items.filter((a) => "cls" in a && !a.negated).map((a) => ("cls" in a ? a.cls : "")).join("");
        const negatives = cls.items.filter((a) => "cls" in a && a.negated).map((a) => ("cls" in a ? a.cls : ""));
        out += foldedClass(positive, negatives, cls.negated, compile);
      }
      i = cls.end;
    } else if (c === "(") {
      if (source[i + 1] !== "?" || /^\(\?P?<[^=!]/.test(source.slice(i))) {
        stack.push(cur);
        out += "(";
        continue;
      }
      const f = /^\(\?([imsU]*)(?:(-)([imsU]*))?([:)])/.exec(source.slice(i));
      // "(?)" is a no-op in RE2; a "-" needs a flag after it.
      if (!f || (f[2] && !f[3])) {
        throw bad("invalid or unsupported Perl syntax", source);
      }
      const next = { ...cur };
      for (const k of f[1]!) next[k as keyof Flags] = true;
      for (const k of f[3] ?? "") next[k as keyof Flags] = false;
      if (f[4] === ":") {
        stack.push(cur);
        out += "(?:";
      }
      cur = next;
      i += f[0].length - 1;
    } else if (c === ")") {
      cur = stack.pop() ?? cur;
      out += ")";
    } else if (c === ".") out += cur.s ? "." : "[^\\n]";
    else if (c === "^") out += cur.m ? "(?:^|(?<=\\n))" : "^";
    else if (c === "$") out += cur.m ? "(?:$|(?=\\n))" : "$";
    else if (c === "*" || c === "+" || c === "?" || c === "{") {
      const q = c === "{" ? /^\{\d+(,\d*)?\}/.exec(source.slice(i))?.[0] : c;
      if (q === undefined) {
        out += atom({ cp: 0x7b, text: "{" });
        continue;
      }
      i += q.length - 1;
      const lazy = source[i + 1] === "?";
      if (lazy) i++;
      out += q + (lazy !== cur.U ? "?" : "");
    } else {
      const cp = source.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      out += atom({ cp, text: ch });
      i += ch.length - 1;
    }
  }
  return out;
}

/** The simple case folding orbit of a code point (itself alone when it has no other case). */
export function caseOrbit(cp: number): number[] {
  return orbitTable().get(cp) ?? [cp];
}
