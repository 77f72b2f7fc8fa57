/** Names of new charms: the kebab-case rule charm names follow, and the class name made from one. */

/** Lower-case letters, digits and single hyphens, starting with a letter (e.g. `acme-feed`). */
export const KEBAB_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** `acme-feed` → `AcmeFeed`. */
export function kebabToPascal(name: string): string {
  return name
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}
