/**
 * Errors of the emulated platform API, shaped like the platform's GraphQL errors (`name` is the
 * error's `extensions.code`/`name`, e.g. MISSING_REFERENCE_ERROR), and the text pycti makes of
 * them: `str(ValueError(dict))`, a Python dict repr (opencti@d42f66c06
 * client-python/pycti/api/opencti_api_client.py#query), which is what a worker reports to a Work.
 */
export class PlatformApiError extends Error {
  override readonly name: string;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = code;
  }

  /** pycti's report text: `{'name': 'CODE', 'error_message': 'message'}`. */
  pyctiText(): string {
    const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    return `{'name': ${q(this.code)}, 'error_message': ${q(this.message)}}`;
  }
}

export const missingReference = (ids: readonly string[]) => new PlatformApiError('MISSING_REFERENCE_ERROR', `Element(s) not found: ${ids.join(', ')}`);
export const functional = (message: string) => new PlatformApiError('FUNCTIONAL_ERROR', message);
export const validation = (message: string) => new PlatformApiError('VALIDATION_ERROR', message);
export const lockError = () => new PlatformApiError('LOCK_ERROR', 'Execution timeout, too many concurrent call on the same entities');
export const workNotAlive = () => new PlatformApiError('WORK_NOT_ALIVE', 'Work is no longer alive, no request can be done within the context of this work');

/** An error raised by pycti itself (a Python ValueError): reported as `str(ex)`, the text as is. */
export class PythonError extends PlatformApiError {
  constructor(text: string) {
    super('PYTHON_ERROR', text);
  }
  override pyctiText(): string {
    return this.message;
  }
}
