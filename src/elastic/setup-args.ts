/** The flags of `promgate setup` (src/cli.ts), parsed apart so they can be tested without running the CLI. */

export interface SetupArgs {
  apiKeyName?: string;
  printRole?: "gateway" | "compactor";
  replicas?: number;
}

/** Flags of `setup`; throws a one-line reason for anything else. */
export function parseSetupArgs(args: string[]): SetupArgs {
  const out: SetupArgs = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = args[i + 1] !== undefined && !args[i + 1]!.startsWith("--") ? args[i + 1] : undefined;
    if (a === "--api-key") {
      out.apiKeyName = value ?? "promgate-gateway";
      if (value !== undefined) i++;
    } else if (a === "--print-role") {
      const role = value ?? "gateway";
      if (role !== "gateway" && role !== "compactor") throw new Error(`--print-role takes gateway or compactor, not "${role}"`);
      out.printRole = role;
      if (value !== undefined) i++;
    } else if (a === "--replicas") {
      if (value === undefined || !/^\d{1,2}$/.test(value)) throw new Error("--replicas takes a number of replicas (0-99)");
      out.replicas = Number(value);
      i++;
    } else {
      throw new Error(`unknown argument "${a}"`);
    }
  }
  return out;
}
