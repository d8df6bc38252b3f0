/** A configuration that cannot run: the message names every bad variable. */
export class ConfigError extends Error {}
