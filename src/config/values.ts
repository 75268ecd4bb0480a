/** A positive safe integer from a number or its decimal text (env vars are text; TOML and JSON give numbers). */
export function asPositiveInt(value: unknown): number | undefined {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}
