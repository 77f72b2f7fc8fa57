/**
 * The scaffolders' one error type (a new charm, a new connector): bad input (a name, a type, a README, a target). It carries
 * every problem found, so one run reports all of them; the CLI prints them and exits 2.
 */
export class ScaffoldError extends Error {
  override name = 'ScaffoldError';
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0]! : `${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}
