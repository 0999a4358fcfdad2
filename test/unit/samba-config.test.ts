/**
 * The pure part of the Samba adapter: the configuration rendered from data, the names and paths
 * it refuses, the include line in the owner's smb.conf, who may do what (the twin's rules), the
 * addresses people type. testparm's word on the result is in test/system/samba.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  accessOf,
  renderSambaConfig,
  renderUsernameMap,
  SambaInputError,
  shareAddresses,
  withIncludeLine,
  type SambaConfigInput,
  type SambaShare,
} from '../../system/samba/samba.js';

const base = (shares: SambaShare[], users = ['anna', 'bob']): SambaConfigInput => ({
  mode: { kind: 'self-run', folder: '/var/lib/safehold/samba', port: 4450, address: '127.0.0.1' },
  shares,
  users,
  accountPrefix: 'sh-',
  filesOwner: { user: 'safehold', group: 'safehold' },
  usernameMapFile: '/var/lib/safehold/samba/users.map',
  guestAccount: 'nobody',
});

/** The lines of one `[section]`, as `key = value` strings without the tab. */
function section(config: string, name: string): string[] {
  const start = config.split('\n').indexOf(`[${name}]`);
  assert.ok(start >= 0, `[${name}] is in the file`);
  const lines: string[] = [];
  for (const line of config.split('\n').slice(start + 1)) {
    if (!line.startsWith('\t')) break;
    lines.push(line.trim());
  }
  return lines;
}

describe('the Samba configuration', () => {
  it('self-run: its own folders, port, address, SMB3 only, no guests, no printers, no home shares', () => {
    const config = renderSambaConfig(base([]));
    const global = section(config, 'global');
    for (const expected of [
      'passdb backend = tdbsam:/var/lib/safehold/samba/private/passdb.tdb',
      'private dir = /var/lib/safehold/samba/private',
      'lock directory = /var/lib/safehold/samba/lock',
      'pid directory = /var/lib/safehold/samba/run',
      'log file = /var/lib/safehold/samba/log/smbd.log',
      'smb ports = 4450',
      'interfaces = 127.0.0.1',
      'bind interfaces only = yes',
      'server min protocol = SMB3',
      'map to guest = never',
      'load printers = no',
      'disable spoolss = yes',
    ]) {
      assert.ok(global.includes(expected), expected);
    }
    assert.doesNotMatch(config, /\[homes\]|\[printers\]/);
  });

  it('every interface when no address is given', () => {
    const input = base([]);
    const config = renderSambaConfig({ ...input, mode: { kind: 'self-run', folder: '/srv/s', port: 445, address: null } });
    assert.doesNotMatch(config, /interfaces/);
  });

  it('a share lists its users by Unix account, writers and readers apart, one owner for the files', () => {
    const config = renderSambaConfig(base([{ name: 'Photos', path: '/srv/pool/Family photos ü', grants: [{ user: 'anna', access: 'rw' }, { user: 'bob', access: 'ro' }] }]));
    const photos = section(config, 'Photos');
    for (const expected of [
      'path = /srv/pool/Family photos ü',
      'read only = yes',
      'valid users = sh-anna sh-bob',
      'write list = sh-anna',
      'read list = sh-bob',
      'guest ok = no',
      'force user = safehold',
      'force group = safehold',
    ]) {
      assert.ok(photos.includes(expected), expected);
    }
  });

  it('a share nobody was given is not offered (an empty "valid users" would mean everyone)', () => {
    const lines = section(renderSambaConfig(base([{ name: 'Empty', path: '/srv/e', grants: [] }])), 'Empty');
    assert.ok(lines.includes('available = no'));
    assert.ok(!lines.some((l) => l.startsWith('valid users')));
  });

  it('guests only where the owner turned them on: then map to guest and the guest account', () => {
    const config = renderSambaConfig(base([{ name: 'Public', path: '/srv/p', guest: 'ro', grants: [{ user: 'anna', access: 'rw' }] }]));
    assert.ok(section(config, 'global').includes('map to guest = bad user'));
    const lines = section(config, 'Public');
    assert.ok(lines.includes('guest ok = yes'));
    assert.ok(lines.includes('valid users = sh-anna sh-bob nobody'), 'bob, without a grant, gets what guests get');
    assert.ok(lines.includes('write list = sh-anna'));
  });

  it('include mode: only what the shares need in [global], then the shares', () => {
    const input = { ...base([{ name: 'Photos', path: '/srv/p', grants: [{ user: 'anna', access: 'rw' as const }] }]), mode: { kind: 'include' as const } };
    const config = renderSambaConfig(input);
    assert.deepEqual(section(config, 'global'), ['server min protocol = SMB3', 'username map = /var/lib/safehold/samba/users.map']);
    assert.ok(section(config, 'Photos').includes('valid users = sh-anna'));
  });

  it('refuses names and paths that would break the file, with the reason, and a grant to nobody', () => {
    const bad: Array<[SambaShare[], RegExp]> = [
      [[{ name: 'a]b', path: '/srv/x', grants: [] }], /share name/],
      [[{ name: 'x\n[global]', path: '/srv/x', grants: [] }], /share name/],
      [[{ name: 'HOMES', path: '/srv/x', grants: [] }], /Samba's own/],
      [[{ name: 'ok', path: 'srv/x', grants: [] }], /not an absolute path/],
      [[{ name: 'ok', path: '/srv/x\npath = /', grants: [] }], /control character/],
      [[{ name: 'ok', path: '/srv/%u', grants: [] }], /"%"/],
      [[{ name: 'ok', path: '/srv/x\\', grants: [] }], /"\\"/],
      [[{ name: 'ok', path: '/srv/x ', grants: [] }], /space/],
      [[{ name: 'ok', path: '/srv/x', grants: [{ user: 'carl', access: 'rw' }] }], /no user "carl"/],
      [[{ name: 'ok', path: '/srv/x', grants: [{ user: 'anna', access: 'rw' }, { user: 'anna', access: 'ro' }] }], /twice/],
      [[{ name: 'ok', path: '/srv/x', grants: [] }, { name: 'OK', path: '/srv/y', grants: [] }], /twice/],
    ];
    for (const [shares, reason] of bad) {
      assert.throws(() => renderSambaConfig(base(shares)), (e: unknown) => e instanceof SambaInputError && reason.test(e.message), JSON.stringify(shares));
    }
    for (const user of ['Anna', 'root; x', '-x', 'a'.repeat(21), 'anna bob', 'ünal', '']) {
      assert.throws(() => renderSambaConfig(base([], [user])), SambaInputError, user);
    }
  });

  it('the username map takes the name people type to the prefixed Unix account', () => {
    assert.equal(renderUsernameMap(['bob', 'anna'], 'sh-').split('\n').filter((l) => !l.startsWith('#')).join('\n'), 'sh-anna = anna\nsh-bob = bob\n');
  });
});

describe("the include line in the owner's smb.conf", () => {
  const owners = '[global]\n\tworkgroup = HOME\n[music]\n\tpath = /srv/music';
  it('is appended once, the rest kept as it was; the second time changes nothing', () => {
    const once = withIncludeLine(owners, '/etc/samba/safehold.conf');
    assert.ok(once.startsWith(`${owners}\n`));
    assert.equal(once.match(/^include = \/etc\/samba\/safehold\.conf$/gm)?.length, 1);
    assert.equal(withIncludeLine(once, '/etc/samba/safehold.conf'), once);
  });
  it('several of ours (an edit gone wrong) become one; another include is left alone', () => {
    const text = `${owners}\ninclude = /etc/samba/other.conf\ninclude = /etc/samba/safehold.conf\n  include = /etc/samba/safehold.conf\n`;
    const fixed = withIncludeLine(text, '/etc/samba/safehold.conf');
    assert.equal(fixed.match(/include = \/etc\/samba\/safehold\.conf/g)?.length, 1);
    assert.match(fixed, /include = \/etc\/samba\/other\.conf/);
  });
});

describe('who may do what (the rules the twin answers by)', () => {
  const shares: SambaShare[] = [
    { name: 'Photos', path: '/p', grants: [{ user: 'anna', access: 'rw' }, { user: 'bob', access: 'ro' }] },
    { name: 'Public', path: '/q', guest: 'rw', grants: [{ user: 'bob', access: 'ro' }] },
  ];
  const users = ['anna', 'bob', 'carl'];
  it('grants decide; a guest only where allowed; a user\'s own grant wins over guest access', () => {
    assert.equal(accessOf(shares, users, 'anna', 'photos'), 'rw');
    assert.equal(accessOf(shares, users, 'bob', 'Photos'), 'ro');
    assert.equal(accessOf(shares, users, 'carl', 'Photos'), 'none');
    assert.equal(accessOf(shares, users, null, 'Photos'), 'none');
    assert.equal(accessOf(shares, users, null, 'Public'), 'rw');
    assert.equal(accessOf(shares, users, 'bob', 'Public'), 'ro');
    assert.equal(accessOf(shares, users, 'stranger', 'Public'), 'rw', 'a name that is no user is a guest');
    assert.equal(accessOf(shares, users, 'carl', 'Public'), 'rw', 'a user without a grant gets what guests get');
    assert.equal(accessOf(shares, users, 'anna', 'Nothere'), 'none');
  });
});

describe('the addresses people type', () => {
  it('Windows, macOS and Linux; the port when not 445 (Windows cannot take one)', () => {
    assert.deepEqual(shareAddresses('safehold.local', 'Photos'), {
      windows: '\\\\safehold.local\\Photos',
      mac: 'smb://safehold.local/Photos',
      linux: 'smb://safehold.local/Photos',
      unc: '//safehold.local/Photos',
    });
    assert.equal(shareAddresses('box', 'Photos', 4450).windows, null);
    assert.equal(shareAddresses('box', 'Photos', 4450).unc, '//box:4450/Photos');
  });
});
