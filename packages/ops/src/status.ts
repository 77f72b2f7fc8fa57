/**
 * Unit and application statuses. Charms set active, blocked, maintenance and waiting; Juju alone
 * sets error and unknown. Statuses compare by (name, message).
 */
import { InvalidStatusError } from './errors.js';

export const STATUS_NAMES = ['active', 'blocked', 'maintenance', 'waiting', 'error', 'unknown'] as const;
export type StatusName = (typeof STATUS_NAMES)[number];
export const SETTABLE_STATUS_NAMES = ['active', 'blocked', 'maintenance', 'waiting'] as const;

/** ops' priority for collect-status: error > blocked > maintenance > waiting > active. */
const PRIORITY: Record<StatusName, number> = {
  error: 5,
  blocked: 4,
  maintenance: 3,
  waiting: 2,
  active: 1,
  unknown: 0,
};

export abstract class StatusBase {
  abstract readonly name: StatusName;
  constructor(readonly message: string = '') {}

  equals(other: StatusBase | null | undefined): boolean {
    return !!other && other.name === this.name && other.message === this.message;
  }

  toString(): string {
    return this.message ? `${this.name}: ${this.message}` : this.name;
  }

  /** Build a status from Juju's name for it. */
  static fromName(name: string, message = ''): StatusBase {
    switch (name) {
      case 'active':
        return new ActiveStatus(message);
      case 'blocked':
        return new BlockedStatus(message);
      case 'maintenance':
        return new MaintenanceStatus(message);
      case 'waiting':
        return new WaitingStatus(message);
      case 'error':
        return new ErrorStatus(message);
      case 'unknown':
        return new UnknownStatus();
      default:
        throw new InvalidStatusError(`unknown status name ${JSON.stringify(name)}`);
    }
  }

  /** The highest-priority status; on a tie the first one wins (ops semantics). */
  static highestPriority(statuses: readonly StatusBase[]): StatusBase {
    let best: StatusBase | undefined;
    for (const s of statuses) if (!best || PRIORITY[s.name] > PRIORITY[best.name]) best = s;
    if (!best) throw new Error('highestPriority needs at least one status');
    return best;
  }
}

export class ActiveStatus extends StatusBase {
  readonly name = 'active' as const;
}
export class BlockedStatus extends StatusBase {
  readonly name = 'blocked' as const;
}
export class MaintenanceStatus extends StatusBase {
  readonly name = 'maintenance' as const;
}
export class WaitingStatus extends StatusBase {
  readonly name = 'waiting' as const;
}
/** Set by Juju when a hook fails; charms cannot set it. */
export class ErrorStatus extends StatusBase {
  readonly name = 'error' as const;
}
/** The charm has not set a status yet. */
export class UnknownStatus extends StatusBase {
  readonly name = 'unknown' as const;
  constructor() {
    super('');
  }
}

/** Raise unless the status is one a charm may set. */
export function assertSettable(status: StatusBase): void {
  if (!(SETTABLE_STATUS_NAMES as readonly string[]).includes(status.name)) {
    throw new InvalidStatusError(`status "${status.name}" is set by Juju only; a charm may set active, blocked, maintenance or waiting`);
  }
}
