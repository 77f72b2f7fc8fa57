/**
 * The connector types, in a module of their own without zod: the scaffolder's command line lists
 * them in its --help, which should not load the relation schemas (schema.ts re-exports them).
 */

/** Connector types a connector charm can declare (OpenCTI's ConnectorType, minus INTERNAL_ANALYSIS). */
export const CONNECTOR_TYPES = ['EXTERNAL_IMPORT', 'INTERNAL_ENRICHMENT', 'INTERNAL_IMPORT_FILE', 'INTERNAL_EXPORT_FILE', 'STREAM'] as const;
export type ConnectorType = (typeof CONNECTOR_TYPES)[number];
