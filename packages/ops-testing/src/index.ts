/**
 * Simulation toolkit: run charms without Juju.
 *
 * - In process: `new Context(MyCharm, { meta }).run(on.configChanged(), state)`.
 * - The fake Juju agent that answers hook tools (shared with the out-of-process simulator).
 */
export * from './context.js';
export * from './events.js';
export * from './state.js';
export { withLookups, type OutputState, type StateLookups } from './lookups.js';
export { UnitAgent, agentRunner, type HookContext, type JujuLogRecord, type ToolCall } from './juju/agent.js';
export { ModelSim, HookFailedError, charmDirectory, type DeployOptions, type HookRecord, type ModelOptions } from './model.js';
export { runCharm, prepareUnitDir, writeStateFile, readStateFile, type RunCharmOptions, type RunCharmResult } from './dispatch.js';
export { loadScenario, runScenario, statusLine, scenarioSchema, type Scenario, type ScenarioStep, type ScenarioResult } from './scenario.js';
export { parseEventSpec, summarizeRun } from './summary.js';
export { freePort, portFree } from './ports.js';
export { ContainerSet, type ContainerSetOptions } from './containers.js';
