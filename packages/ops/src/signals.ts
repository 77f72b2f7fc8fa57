/** Signal names by number, from Node's own table. */

/** The name of signal `n` (`SIGTERM` for 15), or undefined for a number Node does not know. */
export function signalName(n: number): string | undefined {
  // node:os is loaded only here: every hook bundles the callers, few ever name a signal by number.
  const { constants } = process.getBuiltinModule('node:os');
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0];
}
