/**
 * Household users and grants above the Samba seam, on a real catalog with the Samba twin: what a
 * user's computer could do (the twin answers by the same rules the real smbd is checked against
 * in test/system/samba.test.ts), what the catalog keeps (never a password), what is refused and
 * that a refusal changes nothing, and what the exporter sends Samba.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../system/clock.js';
import { SimulatedSamba } from '../../system/samba/samba.sim.js';
import { ActivityRepository } from '../../server/activity/activity.repository.js';
import { ActivityService } from '../../server/activity/activity.service.js';
import { InvalidInputError, NotFoundError, ConflictError } from '../../server/errors.js';
import { EventBus } from '../../server/events.js';
import { ShareRepository } from '../../server/pool/share.repository.js';
import { SmbService } from '../../server/pool/smb.service.js';
import { HouseholdUserRepository } from '../../server/pool/user.repository.js';
import { HouseholdUserService } from '../../server/pool/user.service.js';
import { closeStrengthEstimator } from '../../server/auth/password.js';
import { silentLog, tempCatalog } from '../testing/catalog.js';

const ANNA = 'a boat sails at seven past nine';
const BEN = 'sunflowers grow taller than fences';

describe('household users and grants (the Samba twin, a real catalog)', () => {
  let cat: ReturnType<typeof tempCatalog>;
  let samba: SimulatedSamba;
  let users: HouseholdUserService;
  let smb: SmbService;
  let activity: ActivityService;
  let shareRepo: ShareRepository;
  let exported: { name: string; path: string; guest: 'none' | 'ro' | 'rw' }[];
  let published: string[];

  const build = (twin: SimulatedSamba, port = 445) => {
    const bus = new EventBus();
    bus.subscribe('shares', (e) => published.push(e.changed));
    const clock = new ManualClock();
    activity = new ActivityService(new ActivityRepository(cat.db), bus, clock);
    const repo = new HouseholdUserRepository(cat.db);
    shareRepo = new ShareRepository(cat.db);
    smb = new SmbService({ samba: twin, users: repo, exported: () => exported, filesOwner: async () => null, host: () => 'safehold.local', port, bus, log: silentLog() });
    users = new HouseholdUserService({ repo, shares: shareRepo, samba: twin, applyShares: () => smb.apply(), activity, bus, clock });
  };

  beforeEach(() => {
    cat?.dispose();
    cat = tempCatalog();
    published = [];
    samba = new SimulatedSamba();
    build(samba);
    shareRepo.add({ name: 'Photos', copies: 2, guest: 'none', createdAt: 0 });
    shareRepo.add({ name: 'Music', copies: 1, guest: 'none', createdAt: 0 });
    exported = [{ name: 'Photos', path: '/srv/safehold/shares/Photos', guest: 'none' }];
  });
  after(async () => {
    cat?.dispose();
    await closeStrengthEstimator();
  });

  it('a new user logs in with their password, which only Samba keeps', async () => {
    const made = await users.create({ name: 'anna', password: ANNA });
    assert.deepEqual(made.grants, []);
    assert.equal(made.canLogIn, true);
    await users.grant('Photos', 'anna', 'rw');
    assert.equal(samba.canAccess('anna', 'Photos', ANNA), 'rw');
    assert.equal(samba.canAccess('anna', 'Photos', 'not her password'), 'none');
    cat.db.close();
    const bytes = Buffer.concat([cat.file, `${cat.file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
    assert.ok(bytes.includes(Buffer.from('anna')), 'the name is in the catalog');
    assert.ok(!bytes.includes(Buffer.from(ANNA)), 'the password is not');
    cat.reopen();
  });

  it('rw reads and writes, ro only reads, no grant and guests are refused; changed and revoked grants hold at once', async () => {
    await users.create({ name: 'anna', password: ANNA });
    await users.create({ name: 'ben', password: BEN });
    await users.grant('Photos', 'anna', 'rw');
    await users.grant('photos', 'ben', 'ro'); // a share's name in any case, as clients type it
    assert.equal(samba.canAccess('anna', 'Photos', ANNA), 'rw');
    assert.equal(samba.canAccess('ben', 'Photos', BEN), 'ro');
    assert.equal(samba.canAccess('ben', 'Music', BEN), 'none');
    assert.equal(samba.canAccess(null, 'Photos'), 'none');
    assert.deepEqual(users.grantsOf('Photos'), [
      { user: 'anna', access: 'rw' },
      { user: 'ben', access: 'ro' },
    ]);
    await users.grant('Photos', 'ben', 'rw');
    assert.equal(samba.canAccess('ben', 'Photos', BEN), 'rw');
    await users.revoke('Photos', 'ben');
    assert.equal(samba.canAccess('ben', 'Photos', BEN), 'none');
    await users.revoke('Photos', 'ben'); // again: nothing to do
    assert.deepEqual(published, ['Photos', 'Photos', 'Photos', 'Photos']);
    assert.match(activity.list(10).map((e) => e.message).join('\n'), /ben may now read and change the files of Photos \(before: only read\)/);
  });

  it('refuses a weak or unusable password, a bad or taken name, and changes nothing', async () => {
    await users.create({ name: 'anna', password: ANNA });
    const refusals: [string, string, string][] = [
      ['dora', 'short', 'password'],
      ['dora', 'password1234', 'password'],
      ['dora', 'dora likes long walks on the beach', 'password'],
      ['dora', 'a line\nbreak in the middle of it', 'password'],
      ['Dora', ANNA, 'name'],
      ['root; rm -rf', ANNA, 'name'],
      ['anna', BEN, 'name'],
    ];
    for (const [name, password, field] of refusals) {
      await assert.rejects(
        users.create({ name, password }),
        (e: unknown) => e instanceof InvalidInputError && e.issues[0]?.path === field && e.message.length > 10,
        `${name} / ${password}`,
      );
    }
    assert.deepEqual(await samba.listUsers(), ['anna']);
    assert.deepEqual((await users.list()).map((u) => u.name), ['anna']);
    assert.equal(samba.canAccess('anna', 'Photos', ANNA), 'none', 'no grant yet');
    await users.grant('Photos', 'anna', 'ro');
    assert.equal(samba.canAccess('anna', 'Photos', ANNA), 'ro', 'her password was not changed by the refused "anna"');
  });

  it('refuses grants to nobody, on no share or a removed one', async () => {
    await users.create({ name: 'anna', password: ANNA });
    await assert.rejects(users.grant('Photos', 'zed', 'rw'), NotFoundError);
    await assert.rejects(users.grant('Nothere', 'anna', 'rw'), NotFoundError);
    shareRepo.setRemoved('Music', 1);
    await assert.rejects(users.grant('Music', 'anna', 'rw'), ConflictError);
    assert.deepEqual(users.grantsOf('Photos'), []);
  });

  it('a new password replaces the old one', async () => {
    await users.create({ name: 'anna', password: ANNA });
    await users.grant('Photos', 'anna', 'rw');
    await users.setPassword('anna', BEN);
    assert.equal(samba.canAccess('anna', 'Photos', ANNA), 'none');
    assert.equal(samba.canAccess('anna', 'Photos', BEN), 'rw');
    await assert.rejects(users.setPassword('anna', 'short'), InvalidInputError);
    await assert.rejects(users.setPassword('zed', BEN), NotFoundError);
    assert.equal(samba.canAccess('anna', 'Photos', BEN), 'rw');
  });

  it('removing a user takes their grants, password and listing with them', async () => {
    await users.create({ name: 'anna', password: ANNA });
    await users.create({ name: 'ben', password: BEN });
    await users.grant('Photos', 'anna', 'rw');
    await users.grant('Music', 'anna', 'ro');
    await users.grant('Photos', 'ben', 'ro');
    published.length = 0;
    await users.remove('anna');
    assert.equal(samba.canAccess('anna', 'Photos', ANNA), 'none');
    assert.deepEqual(await samba.listUsers(), ['ben']);
    assert.deepEqual((await users.list()).map((u) => [u.name, u.grants]), [['ben', [{ share: 'Photos', access: 'ro' }]]]);
    assert.deepEqual(published.sort(), ['Music', 'Photos'], 'the shares she had are announced');
    assert.equal(samba.canAccess('ben', 'Photos', BEN), 'ro');
    await assert.rejects(users.remove('anna'), NotFoundError);
  });

  it('exports only the shares whose view is mounted, starting Samba with the first', async () => {
    await users.create({ name: 'anna', password: ANNA });
    exported = [];
    await smb.apply();
    assert.equal(samba.status().running, false, 'no share: no Samba');
    await users.grant('Photos', 'anna', 'rw');
    assert.equal(samba.canAccess('anna', 'Photos', ANNA), 'none', 'the view of Photos is not mounted');
    exported = [{ name: 'Photos', path: '/srv/safehold/shares/Photos', guest: 'none' }];
    await smb.apply();
    assert.equal(samba.status().running, true);
    assert.equal(samba.canAccess('anna', 'Photos', ANNA), 'rw');
    assert.equal(smb.problem(), null);
    await smb.stop();
    assert.equal(samba.canAccess('anna', 'Photos', ANNA), 'none');
    await smb.apply(); // after stop: nothing
    assert.equal(samba.status().running, false);
  });

  it('a user whose password Samba lost is listed as unable to log in, and the others are still exported', async () => {
    await users.create({ name: 'anna', password: ANNA });
    await users.create({ name: 'ben', password: BEN });
    await users.grant('Photos', 'anna', 'rw');
    await users.grant('Photos', 'ben', 'ro');
    const fresh = new SimulatedSamba(); // a Samba that kept nobody (its password database replaced)
    build(fresh);
    await fresh.setUser('ben', BEN);
    await smb.apply();
    assert.equal(smb.problem(), null);
    assert.equal(fresh.canAccess('ben', 'Photos', BEN), 'ro');
    assert.deepEqual((await users.list()).map((u) => [u.name, u.canLogIn]), [
      ['anna', false],
      ['ben', true],
    ]);
    await users.setPassword('anna', ANNA);
    await smb.apply();
    assert.equal(fresh.canAccess('anna', 'Photos', ANNA), 'rw', 'her grant holds again once she has a password');
  });

  it('says what to type on each computer, with the port when it is not 445', () => {
    assert.deepEqual(smb.addressesOf('Photos'), { windows: '\\\\safehold.local\\Photos', macos: 'smb://safehold.local/Photos', linux: 'smb://safehold.local/Photos' });
    build(samba, 4450);
    assert.deepEqual(smb.addressesOf('Photos'), { windows: null, macos: 'smb://safehold.local:4450/Photos', linux: 'smb://safehold.local:4450/Photos' });
  });
});
