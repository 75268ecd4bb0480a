/** A configuration problem, said in one line that names the setting or field at fault (never its value). */
export class ConfigError extends Error {
  constructor(message: string) {
    super(`invalid configuration: ${message}`);
    this.name = "ConfigError";
  }
}
