// User and group resolution as Pebble does it for services and exec checks
// (P:internals/osutil/user.go NormalizeUidGid, IsCurrent), with Go's os/user error texts. The
// user database is the host's /etc/passwd and /etc/group: the emulator runs processes on the
// host, so those are the users a process can really run as.
import { readFileSync } from 'node:fs';

interface Entry {
  name: string;
  id: number;
  /** Primary gid (users only). */
  gid: number;
  home: string;
}

function readDb(file: string, kind: 'user' | 'group'): Entry[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: Entry[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < (kind === 'user' ? 7 : 3) || !/^\d+$/.test(f[2] ?? '')) continue;
    out.push({ name: f[0]!, id: Number(f[2]), gid: kind === 'user' ? Number(f[3]) : Number(f[2]), home: f[5] ?? '' });
  }
  return out;
}

export class UserDb {
  constructor(
    private readonly passwd = '/etc/passwd',
    private readonly groupFile = '/etc/group',
  ) {}

  user(name: string): Entry | undefined {
    return readDb(this.passwd, 'user').find((u) => u.name === name);
  }
  userById(uid: number): Entry | undefined {
    return readDb(this.passwd, 'user').find((u) => u.id === uid);
  }
  group(name: string): Entry | undefined {
    return readDb(this.groupFile, 'group').find((g) => g.name === name);
  }
}

export interface Ids {
  uid: number;
  gid: number;
}

/**
 * NormalizeUidGid: names resolved to ids (and checked against given ids), a missing group taken
 * from the user's primary group; nothing given → null. Throws Pebble's (and Go's) error texts.
 */
export function normalizeUidGid(db: UserDb, uidIn: number | null, gidIn: number | null, user: string, group: string): Ids | null {
  if (uidIn === null && user === '' && gidIn === null && group === '') return null;
  let uid = uidIn;
  let gid = gidIn;
  if (user !== '') {
    const u = db.user(user);
    if (!u) throw new Error(`user: unknown user ${user}`);
    if (uid !== null && uid !== u.id) throw new Error(`user ${JSON.stringify(user)} UID (${u.id}) does not match user-id (${uid})`);
    uid = u.id;
  }
  if (group !== '') {
    const g = db.group(group);
    if (!g) throw new Error(`group: unknown group ${group}`);
    if (gid !== null && gid !== g.id) throw new Error(`group ${JSON.stringify(group)} GID (${g.id}) does not match group-id (${gid})`);
    gid = g.id;
  }
  if (gid === null) {
    // Only a user was given: its primary group. (uid is set here, as in Pebble.)
    const u = db.userById(uid!);
    if (!u) throw new Error(`user: unknown userid ${uid!}`);
    gid = u.gid;
  }
  if (uid === null) throw new Error('must specify user, not just group');
  return { uid, gid };
}

/** osutil.IsCurrent: the emulator's own uid and gid. */
export function isCurrent(ids: Ids): boolean {
  return ids.uid === process.getuid?.() && ids.gid === process.getgid?.();
}
