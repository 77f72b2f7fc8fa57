/**
 * Where a scaffolded connector's rock builds from unless told otherwise: in a module of their own,
 * without the scaffolder's dependencies, because the command line shows them in its --help.
 */

/** The OpenCTI connectors release a new rock builds unless told otherwise. */
export const DEFAULT_UPSTREAM_VERSION = '6.9.24';
export const UPSTREAM_REPO = 'https://github.com/OpenCTI-Platform/connectors.git';
