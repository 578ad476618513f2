/** Configuration that cannot be used: start-up stops with this message, which names the file and field. */
export class ConfigError extends Error {}
