// The Pebble emulator for tests and simulation: see docs/pebble.md.
export {
  PebbleEmulator,
  type PebbleEmulatorOptions,
  type PebbleEmulatorEvents,
  type EmulatorMode,
  type SeedOptions,
  type ShutdownEvent,
} from './emulator.js';
export { FakeClock, RealClock, settle, type Clock, type ClockTimer } from './clock.js';
export type { ServiceEvent, ServiceState, ServiceCurrent, ShutdownKind } from './services.js';
export type { CheckEvent, CheckStatus } from './checks.js';
export { parseGoDuration, formatGoDuration, shlexSplit } from './gotext.js';
