/**
 * Simulation toolkit: run charms without Juju.
 *
 * - In process: `new Context(MyCharm, { meta }).run(on.configChanged(), state)`.
 * - The fake Juju agent that answers hook tools (shared with the out-of-process simulator).
 */
export * from './context.js';
export * from './events.js';
export * from './state.js';
export { UnitAgent, agentRunner, type HookContext, type JujuLogRecord, type ToolCall } from './juju/agent.js';
