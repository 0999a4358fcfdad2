/**
 * Exporting the pool's shares over SMB to the LAN: the interface the share service uses, and the
 * pure rules both implementations follow.
 *
 * - `SambaServer` is the seam: household users (name + password, kept in Samba's own password
 *   database, apart from Safehold's admin password), the set of exported shares with per-user
 *   grants, start/stop. Two implementations: `SambaAdapter` (samba.adapter.ts: a real smbd, run by
 *   Safehold itself or the system's) and `SimulatedSamba` (samba.sim.ts).
 * - `renderSambaConfig()` turns data into Samba's configuration text; `accessOf()` says what a
 *   client may do by the same data. Both are pure: the twin answers with `accessOf()`, the real
 *   server is checked against it with smbclient by one contract suite (test/system/samba.test.ts).
 *
 * Names: a household user name and a share name must match `USER_NAME` / `SHARE_NAME` (said in
 * their doc comments); anything else is refused with `SambaInputError` before a file is written,
 * so no name from the owner can break the configuration or reach Samba's `%` substitutions.
 * See docs/samba.md for the set-up and the Unix account scheme.
 */

/** What a user may do on a share. */
export type ShareAccess = 'rw' | 'ro';

/** Guest access to a share (a client without a name and password). Off unless the owner turns it on. */
export type GuestAccess = 'none' | ShareAccess;

export interface ShareGrant {
  /** A household user name (`USER_NAME`). */
  user: string;
  access: ShareAccess;
}

export interface SambaShare {
  /** The name clients type (`\\box\name`); `SHARE_NAME`. Compared without regard to case, as clients do. */
  name: string;
  /** The folder on the box that is exported (the share's pooled folder); absolute, see `checkSharePath`. */
  path: string;
  /** Default `'none'`. */
  guest?: GuestAccess;
  /** Who may use the share; a user without a grant is refused (on a guest share: gets what guests get). One grant per user. */
  grants: readonly ShareGrant[];
}

/** Whom every file written through a share belongs to (Samba's `force user` / `force group`). */
export interface FilesOwner {
  user: string;
  group: string;
}

export interface SambaStatus {
  /** The smbd serving the shares answers (self-run: our child runs; system: smbd took the reload). */
  running: boolean;
  /** Restarts of a self-run smbd that died since `start()`. Always 0 for the system's smbd. */
  restarts: number;
  /** Why it is not running, in words, when known (the last exit, a failed reload). */
  problem: string | null;
}

/** The service's seam to Samba. Every method is safe to call again (idempotent where it says so). */
export interface SambaServer {
  /**
   * Writes the configuration from the last shares applied (none at first) and makes smbd serve it:
   * a self-run server starts and watches its smbd; with the system's Samba, the include line is
   * made sure of and smbd told to reload. Idempotent.
   */
  start(): Promise<void>;
  /** Stops a self-run smbd and every process it started; leaves the system's smbd alone. Idempotent. */
  stop(): Promise<void>;
  status(): SambaStatus;
  /** Household users, by name, sorted. */
  listUsers(): Promise<string[]>;
  /**
   * Creates a household user with this password, or sets the password of an existing one.
   * The password never appears in a command line, a log or an error. `SambaInputError` for a bad
   * name or an empty password.
   */
  setUser(name: string, password: string): Promise<void>;
  /** Removes a household user: their grants first (reloaded), then their password and account. Idempotent. */
  removeUser(name: string): Promise<void>;
  /**
   * Exports exactly these shares (the whole set: a share left out is no longer exported), rewrites
   * the configuration and reloads it; sessions already open keep going, new connections see the
   * change. `SambaInputError` (nothing changed) for a bad name or path, a duplicate share or grant,
   * or a grant to a user who does not exist.
   */
  applyShares(shares: readonly SambaShare[]): Promise<void>;
}

/** Input the owner gave that cannot be written into Samba's configuration. Nothing was changed. */
export class SambaInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SambaInputError';
  }
}

/** Samba did not do what it was asked (smbpasswd, useradd, smbd refused); `message` says what. */
export class SambaError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SambaError';
  }
}

/**
 * A household user name: a lowercase letter, then up to 19 lowercase letters, digits, `-` or `_`
 * ("anna", "grand-pa", "kid_2"). Lowercase because Windows sends names in any case; short because
 * the Unix account adds a prefix and Unix names stop at 32 characters.
 */
export const USER_NAME = /^[a-z][a-z0-9_-]{0,19}$/;

/**
 * A share name: a letter or digit, then up to 39 letters, digits, `-`, `_` or `.`, not ending in `.`
 * ("Photos", "family-docs", "Music.2026"). Not `global`, `homes`, `printers`, `print$` or `ipc$`
 * (Samba's own sections), in any case.
 */
export const SHARE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;

const RESERVED_SHARES = new Set(['global', 'homes', 'printers', 'print$', 'ipc$']);

export function checkUserName(name: string): void {
  if (typeof name !== 'string' || !USER_NAME.test(name)) {
    throw new SambaInputError(
      `The user name ${JSON.stringify(name)} cannot be used: start with a lowercase letter, then up to 19 lowercase letters, digits, "-" or "_".`,
    );
  }
}

export function checkShareName(name: string): void {
  if (typeof name !== 'string' || !SHARE_NAME.test(name) || name.endsWith('.')) {
    throw new SambaInputError(
      `The share name ${JSON.stringify(name)} cannot be used: letters, digits, "-", "_" and "." only (up to 40, starting with a letter or digit, not ending in ".").`,
    );
  }
  if (RESERVED_SHARES.has(name.toLowerCase())) throw new SambaInputError(`The share name "${name}" is Samba's own: choose another.`);
}

/**
 * A path Samba reads back exactly: absolute, no control characters (a line break would end the
 * line), no `%` (Samba substitutes `%u`, `%m`… in paths), no `\` (Samba joins a line ending in one
 * with the next), no surrounding spaces (Samba trims them). Spaces inside and non-ASCII are fine.
 */
export function checkSharePath(path: string): void {
  const problem =
    typeof path !== 'string' || !path.startsWith('/')
      ? 'it is not an absolute path'
      : /[\u0000-\u001f\u007f]/.test(path)
        ? 'it holds a control character'
        : path.includes('%')
          ? 'it holds "%"'
          : path.includes('\\')
            ? 'it holds "\\"'
            : path !== path.trim()
              ? 'it starts or ends with a space'
              : null;
  if (problem) throw new SambaInputError(`The folder ${JSON.stringify(path)} cannot be exported: ${problem}.`);
}

/** The Unix name of a Samba setting value that must be one word (an account, a group). */
function checkUnixName(what: string, name: string): void {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(name)) throw new SambaInputError(`${what} ${JSON.stringify(name)} is not a Unix account name.`);
}

/**
 * The Unix account of a household user: `prefix + name`. The prefix (`sh-` by default in the
 * adapter) keeps household users apart from the box's own accounts: a user named "root" or
 * "daemon" is `sh-root`, never the real one.
 */
export function unixAccountOf(prefix: string, user: string): string {
  return `${prefix}${user}`;
}

export function checkAccountPrefix(prefix: string): void {
  if (!/^[a-z_][a-z0-9_-]{0,11}$/.test(prefix) || !/[-_]$/.test(prefix)) {
    throw new SambaInputError(`The account prefix ${JSON.stringify(prefix)} must be up to 12 lowercase letters, digits, "-" or "_", ending in "-" or "_".`);
  }
}

/**
 * Checks a whole set of shares against the known users; throws `SambaInputError` on the first
 * problem. Shares are unique without regard to case, one grant per user per share.
 */
export function checkShares(shares: readonly SambaShare[], users: readonly string[]): void {
  const known = new Set(users);
  const seen = new Set<string>();
  for (const share of shares) {
    checkShareName(share.name);
    checkSharePath(share.path);
    const key = share.name.toLowerCase();
    if (seen.has(key)) throw new SambaInputError(`The share name "${share.name}" is given twice.`);
    seen.add(key);
    const guest = share.guest ?? 'none';
    if (guest !== 'none' && guest !== 'ro' && guest !== 'rw') throw new SambaInputError(`Guest access must be none, ro or rw, not ${JSON.stringify(guest)}.`);
    const granted = new Set<string>();
    for (const grant of share.grants) {
      checkUserName(grant.user);
      if (grant.access !== 'rw' && grant.access !== 'ro') throw new SambaInputError(`Access must be rw or ro, not ${JSON.stringify(grant.access)}.`);
      if (!known.has(grant.user)) throw new SambaInputError(`There is no user "${grant.user}" to give "${share.name}" to: create the user first.`);
      if (granted.has(grant.user)) throw new SambaInputError(`"${grant.user}" is given "${share.name}" twice.`);
      granted.add(grant.user);
    }
  }
}

/**
 * What a client may do on a share, by the same rules as the configuration: `user` null is a guest.
 * A user's own grant wins over guest access (a user given `ro` on a guest-`rw` share can only read:
 * the owner said so for that user); a household user without a grant gets what a guest gets. A
 * name that is no household user is a guest too (Samba's `map to guest = bad user`, written only
 * when some share allows guests). An unknown share: `'none'`.
 * (A known user with a wrong password is refused: the caller checks the password.)
 */
export function accessOf(shares: readonly SambaShare[], users: readonly string[], user: string | null, shareName: string): ShareAccess | 'none' {
  const share = shares.find((s) => s.name.toLowerCase() === shareName.toLowerCase());
  if (!share) return 'none';
  const guest = share.guest ?? 'none';
  if (user === null || !users.includes(user)) return guest;
  return share.grants.find((g) => g.user === user)?.access ?? guest;
}

/** How the configuration is used: Safehold's own smbd, or an include file in the system's smb.conf. */
export type SambaConfigMode =
  | {
      kind: 'self-run';
      /** Safehold's Samba folder (`<data>/samba`): passdb, locks, state, cache, pid, log under it. */
      folder: string;
      /** TCP port smbd listens on (445 for clients; a free high port in tests). */
      port: number;
      /** Listen only on this address (`127.0.0.1` in tests); null: every interface. */
      address: string | null;
    }
  | { kind: 'include' };

export interface SambaConfigInput {
  mode: SambaConfigMode;
  shares: readonly SambaShare[];
  /** Household users (names without the prefix). */
  users: readonly string[];
  accountPrefix: string;
  filesOwner: FilesOwner;
  /** Where the username map (client name → Unix account) is written. */
  usernameMapFile: string;
  /** The Unix account guests are (Samba's `guest account`); only used when a share allows guests. */
  guestAccount: string;
}

/** The folders a self-run smbd keeps its state in, under Safehold's Samba folder. */
export function selfRunFolders(folder: string) {
  return {
    private: `${folder}/private`,
    lock: `${folder}/lock`,
    state: `${folder}/state`,
    cache: `${folder}/cache`,
    pid: `${folder}/run`,
    ncalrpc: `${folder}/run/ncalrpc`,
    log: `${folder}/log`,
  };
}

const line = (key: string, value: string | number) => `\t${key} = ${value}`;

/**
 * Samba's configuration for these shares. Self-run: a whole smb.conf with its own folders under
 * `mode.folder`, `passdb backend = tdbsam:<folder>/private/passdb.tdb`, its port, SMB3 only, no
 * printers, no home shares, no NetBIOS, logging to `<folder>/log/smbd.log`. Include: a `[global]`
 * part with only what the shares need (the username map, SMB3 as the minimum, guests mapped when a
 * share allows them), then the shares, to be included from the system's smb.conf.
 * Throws `SambaInputError` (see `checkShares`). Pure.
 */
export function renderSambaConfig(input: SambaConfigInput): string {
  const { mode, shares, users, accountPrefix, filesOwner, usernameMapFile, guestAccount } = input;
  checkAccountPrefix(accountPrefix);
  for (const user of users) checkUserName(user);
  checkShares(shares, users);
  checkUnixName('The files owner', filesOwner.user);
  checkUnixName('The files group', filesOwner.group);
  checkUnixName('The guest account', guestAccount);
  checkSharePath(usernameMapFile);
  const anyGuests = shares.some((s) => (s.guest ?? 'none') !== 'none');
  const account = (user: string) => unixAccountOf(accountPrefix, user);

  const out = ['# Written by Safehold: changes here are overwritten. See docs/samba.md.', '[global]'];
  if (mode.kind === 'self-run') {
    if (!Number.isInteger(mode.port) || mode.port < 1 || mode.port > 65535) throw new SambaInputError(`The port ${mode.port} is not a TCP port.`);
    checkSharePath(mode.folder);
    if (mode.address !== null && !/^[0-9A-Fa-f.:]+$/.test(mode.address)) throw new SambaInputError(`The address ${JSON.stringify(mode.address)} is not an IP address.`);
    const dirs = selfRunFolders(mode.folder);
    out.push(
      line('server role', 'standalone server'),
      line('security', 'user'),
      line('passdb backend', `tdbsam:${dirs.private}/passdb.tdb`),
      line('private dir', dirs.private),
      line('lock directory', dirs.lock),
      line('state directory', dirs.state),
      line('cache directory', dirs.cache),
      line('pid directory', dirs.pid),
      line('ncalrpc dir', dirs.ncalrpc),
      line('logging', 'file'),
      line('log file', `${dirs.log}/smbd.log`),
      line('max log size', 1000),
      line('log level', 1),
      line('smb ports', mode.port),
      line('disable netbios', 'yes'),
      line('load printers', 'no'),
      line('printing', 'bsd'),
      line('printcap name', '/dev/null'),
      line('disable spoolss', 'yes'),
      line('map to guest', anyGuests ? 'bad user' : 'never'),
      line('restrict anonymous', anyGuests ? 0 : 2),
    );
    if (mode.address !== null) out.push(line('interfaces', mode.address), line('bind interfaces only', 'yes'));
  } else if (anyGuests) {
    out.push(line('map to guest', 'bad user'));
  }
  out.push(line('server min protocol', 'SMB3'), line('username map', usernameMapFile));
  if (anyGuests) out.push(line('guest account', guestAccount));

  for (const share of [...shares].sort((a, b) => a.name.localeCompare(b.name))) {
    const guest = share.guest ?? 'none';
    const rw = share.grants.filter((g) => g.access === 'rw').map((g) => account(g.user));
    const ro = share.grants.filter((g) => g.access === 'ro').map((g) => account(g.user));
    // On a guest share, household users without a grant get what guests get, under their own name.
    const granted = new Set(share.grants.map((g) => g.user));
    const others = guest === 'none' ? [] : users.filter((u) => !granted.has(u)).map(account);
    const valid = [...rw, ...ro, ...others];
    // A user's own grant wins over guest access: `read list` beats `write list` in Samba too.
    const writers = guest === 'rw' ? [...rw, ...others, guestAccount] : rw;
    out.push(
      '',
      `[${share.name}]`,
      line('path', share.path),
      line('browseable', 'yes'),
      line('read only', 'yes'),
      // An empty `valid users` means "everyone": a share nobody may use is not offered at all.
      ...(valid.length > 0 || guest !== 'none' ? [line('valid users', [...valid, ...(guest !== 'none' ? [guestAccount] : [])].join(' '))] : [line('available', 'no')]),
      line('write list', writers.join(' ')),
      line('read list', ro.join(' ')),
      line('guest ok', guest !== 'none' ? 'yes' : 'no'),
      line('force user', filesOwner.user),
      line('force group', filesOwner.group),
      line('create mask', '0664'),
      line('directory mask', '0775'),
      line('follow symlinks', 'yes'),
      line('wide links', 'no'),
      // The duplicator's copies in the making (system/files): never shown, never opened by a client.
      line('veto files', '/.safehold-tmp-*/'),
    );
  }
  return `${out.join('\n')}\n`;
}

/** Samba's username map: each household user's name as the client types it → their Unix account. Pure. */
export function renderUsernameMap(users: readonly string[], accountPrefix: string): string {
  checkAccountPrefix(accountPrefix);
  const lines = ['# Written by Safehold: client name → Unix account of a household user.'];
  for (const user of [...users].sort()) {
    checkUserName(user);
    lines.push(`${unixAccountOf(accountPrefix, user)} = ${user}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The owner's smb.conf with exactly one `include = <includeFile>` line: unchanged (the same string)
 * when it already has one, else the line appended at the end. Every other line is kept as it was.
 * Several of our lines (an edit gone wrong) are reduced to the first. Pure.
 */
export function withIncludeLine(smbConf: string, includeFile: string): string {
  checkSharePath(includeFile);
  const ours = (text: string) => {
    const m = /^\s*include\s*=\s*(.*?)\s*$/i.exec(text);
    return m !== null && m[1] === includeFile;
  };
  const lines = smbConf.split('\n');
  const found = lines.map((text, index) => (ours(text) ? index : -1)).filter((i) => i >= 0);
  if (found.length === 1) return smbConf;
  if (found.length > 1) return lines.filter((_, index) => !found.slice(1).includes(index)).join('\n');
  const base = smbConf.length === 0 || smbConf.endsWith('\n') ? smbConf : `${smbConf}\n`;
  return `${base}# Safehold's shares (docs/samba.md)\ninclude = ${includeFile}\n`;
}

/**
 * The address a person types to reach a share: `{ windows: \\host\share, mac: smb://host/share,
 * linux: smb://host/share }`, with the port when it is not 445 (Windows cannot take one: null then).
 */
export function shareAddresses(host: string, share: string, port = 445) {
  const hostPort = port === 445 ? host : `${host}:${port}`;
  return {
    windows: port === 445 ? `\\\\${host}\\${share}` : null,
    mac: `smb://${hostPort}/${share}`,
    linux: `smb://${hostPort}/${share}`,
    /** The `//host/share` form of `bin/safehold shares` (issue 11). */
    unc: `//${hostPort}/${share}`,
  };
}
