/**
 * Errors raised by the framework. Every error that comes from a hook tool carries the tool, its
 * argv with secret values redacted, the exit code and stderr, so a charm author can see exactly
 * what Juju refused and why. Stdin (relation data, secret content, state) is never included.
 */

/** A hook tool failed. `message` leads with Juju's own stderr, like ops' ModelError. */
export class ModelError extends Error {
  override name = 'ModelError';
  constructor(
    message: string,
    readonly details: HookToolFailure | null = null,
  ) {
    super(message);
  }
}

/** What we know about a failed hook-tool call. */
export interface HookToolFailure {
  tool: string;
  /** argv after the tool name, with secret values replaced by `<redacted>`. */
  argv: string[];
  exitCode: number;
  stderr: string;
}

/** `relation-*` or `network-*` said "relation not found". */
export class RelationNotFoundError extends ModelError {
  override name = 'RelationNotFoundError';
}

/** `secret-*` said "not found" (unknown id or label, or not granted to us). */
export class SecretNotFoundError extends ModelError {
  override name = 'SecretNotFoundError';
}

/** Reading or writing a databag this unit may not access (ops' RelationDataAccessError). */
export class RelationDataAccessError extends ModelError {
  override name = 'RelationDataAccessError';
}

/** A databag key or value that is not a string (ops' RelationDataTypeError). */
export class RelationDataTypeError extends ModelError {
  override name = 'RelationDataTypeError';
}

/** More than one relation on an endpoint where exactly one was asked for. */
export class TooManyRelatedAppsError extends ModelError {
  override name = 'TooManyRelatedAppsError';
  constructor(
    readonly relationName: string,
    readonly numRelated: number,
    readonly maxSupported: number,
  ) {
    super(`Too many remote applications on ${relationName} (${numRelated} > ${maxSupported})`);
  }
}

/** Setting `error` or `unknown`, which only Juju may set. */
export class InvalidStatusError extends ModelError {
  override name = 'InvalidStatusError';
}

/** A charm config value that does not match its declared type (or the charm's own schema). */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    /** One entry per offending option: `{ option, problem }`. */
    readonly problems: { option: string; problem: string }[],
  ) {
    super(message);
  }
}

/** Juju's environment for this dispatch is missing or malformed. */
export class JujuContextError extends Error {
  override name = 'JujuContextError';
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
  }
}

/** charmcraft.yaml / metadata.yaml is missing or malformed. */
export class MetadataError extends Error {
  override name = 'MetadataError';
}

/**
 * Stops the dispatch early with an exit code, without counting as a charm error when the code is 0
 * (ops' `_Abort`). State is committed only when the code is 0.
 */
export class AbortDispatch extends Error {
  override name = 'AbortDispatch';
  constructor(
    readonly exitCode: number,
    message = `dispatch aborted with exit code ${exitCode}`,
  ) {
    super(message);
  }
}
