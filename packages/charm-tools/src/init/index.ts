/** Starting charm projects: the shared project files, the plain-charm starter, staged writing. */
export { ScaffoldError } from './errors.js';
export { writeFiles, type WriteResult } from './write.js';
export { renderProjectFiles, renderPackageJson, CHARM_PARTS, FRAMEWORK_VERSION, DEV_TOOL_VERSIONS, type ProjectInput } from './project.js';
export { renderPlainCharm, type PlainCharmInput } from './plain.js';
export { nextStep, workspaceRoot } from './next-step.js';
export { KEBAB_NAME, kebabToPascal } from './names.js';
