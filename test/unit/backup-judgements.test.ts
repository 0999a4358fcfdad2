/** The pure judgements of backups: the mass-change tripwire, what a run says of single files, the "full by" forecast, swap reminders and "am I protected?". */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BACKUP_SETTINGS } from '../../server/backups/backup-settings.js';
import type { LedgerEntry } from '../../server/backups/backup.view.js';
import { forecastFull, judgeProtection, swapDue } from '../../server/backups/protection.js';
import { massChange } from '../../server/backups/tripwire.js';
import { FILE_NOTES_SHOWN, FileNotes, ownerMayRead, type EntryFacts } from '../../server/backups/file-notes.js';

const DAY = 24 * 3600 * 1000;
const NOW = Date.parse('2026-11-28T12:00:00Z');
const limits = { percent: 30, minFiles: 200 };
const previous = { files: 1000, paths: ['/srv/photos'], time: NOW - DAY };

describe('the mass-change tripwire', () => {
  it('fires when more than 30% of the files changed or were added, and at least 200', () => {
    const why = massChange({ previous, sourcePath: '/srv/photos', summary: { filesNew: 100, filesChanged: 250, filesUnmodified: 650 }, limits });
    assert.equal(why, '350 files changed or added (35% of the 1000 files of the backup of 2026-11-27)');
  });

  it('stays quiet at 30% exactly, under the minimum count, on a first backup, and for a source that moved', () => {
    assert.equal(massChange({ previous, sourcePath: '/srv/photos', summary: { filesNew: 0, filesChanged: 300, filesUnmodified: 700 }, limits }), null);
    const small = { ...previous, files: 100 };
    assert.equal(massChange({ previous: small, sourcePath: '/srv/photos', summary: { filesNew: 0, filesChanged: 90, filesUnmodified: 10 }, limits }), null);
    assert.equal(massChange({ previous: undefined, sourcePath: '/srv/photos', summary: { filesNew: 5000, filesChanged: 0, filesUnmodified: 0 }, limits }), null);
    assert.equal(massChange({ previous, sourcePath: '/mnt/new/photos', summary: { filesNew: 1000, filesChanged: 0, filesUnmodified: 0 }, limits }), null);
  });

  it('uses the files found in both when the previous count is unknown', () => {
    const unknown = { ...previous, files: null };
    assert.match(massChange({ previous: unknown, sourcePath: '/srv/photos', summary: { filesNew: 0, filesChanged: 600, filesUnmodified: 400 }, limits }) ?? '', /^600 files changed or added \(60% of the 1000 files/);
  });
});

describe('what a run says of single files', () => {
  const anna = { uid: 1000, groups: new Set([1000, 27]) };
  const file = (mode: number, uid = 1000, gid = 1000, mtimeMs = NOW - DAY): EntryFacts => ({ mode: 0o100000 | mode, uid, gid, mtimeMs, isFile: true, isDirectory: false });
  const folder = (mode: number, uid = 1000, gid = 1000): EntryFacts => ({ mode: 0o040000 | mode, uid, gid, mtimeMs: NOW - DAY, isFile: false, isDirectory: true });

  it('judges a read by the bits the kernel would use: the owner\'s, else the group\'s, else the others\'', () => {
    assert.equal(ownerMayRead(file(0o644), anna), true);
    assert.equal(ownerMayRead(file(0o000), anna), false, 'a 0000 file of her own');
    assert.equal(ownerMayRead(file(0o044), anna), false, 'her own bits say no, whatever the others may');
    assert.equal(ownerMayRead(file(0o600, 0, 0), anna), false, "root's 0600 file in her folder");
    assert.equal(ownerMayRead(file(0o640, 0, 27), anna), true, 'through a group she is in');
    assert.equal(ownerMayRead(file(0o604, 0, 27), anna), false, 'the group bits apply to a member, not the others bits');
    assert.equal(ownerMayRead(folder(0o700), anna), true);
    assert.equal(ownerMayRead(folder(0o600), anna), false, 'a folder she cannot enter');
    assert.equal(ownerMayRead(file(0o000), { uid: 0, groups: new Set([0]) }), true, 'root reads everything');
  });

  it('names files changed since the backup began (not those dated in the future) and files the owner cannot read, but nothing inside a folder already named', () => {
    const notes = new FileNotes();
    const began = NOW;
    const seen = NOW + 1000;
    notes.judge('/home/anna/a.txt', file(0o644), anna, began, seen);
    notes.judge('/home/anna/log.txt', file(0o644, 1000, 1000, NOW + 500), anna, began, seen);
    notes.judge('/home/anna/camera.jpg', file(0o644, 1000, 1000, NOW + 365 * DAY), anna, began, seen); // a camera whose clock was a year ahead
    notes.judge('/home/anna/locked', folder(0o000), anna, began, seen);
    notes.judge('/home/anna/locked/inside.txt', file(0o000), anna, began, seen);
    notes.judge('/home/anna/locked-not/b.txt', file(0o000), anna, began, seen);
    assert.deepEqual(notes.notes, [
      { kind: 'changed', path: '/home/anna/log.txt', detail: null },
      { kind: 'owner-cannot-read', path: '/home/anna/locked', detail: 'mode 0000, owner uid 1000' },
      { kind: 'owner-cannot-read', path: '/home/anna/locked-not/b.txt', detail: 'mode 0000, owner uid 1000' },
    ]);
    assert.equal(notes.summary(), "1 file changed while it was read (the backup may hold a torn copy); 2 files the folder's owner cannot read.");
    assert.equal(new FileNotes().summary(), null, 'nothing to tell');
  });

  it('counts every note but names only the first few of each kind', () => {
    const notes = new FileNotes();
    for (let i = 0; i < FILE_NOTES_SHOWN + 5; i++) notes.add('unreadable', `/srv/f${i}`, 'open: permission denied (EACCES)');
    notes.add('changed', '/srv/log');
    assert.equal(notes.counts.unreadable, FILE_NOTES_SHOWN + 5);
    assert.equal(notes.notes.filter((n) => n.kind === 'unreadable').length, FILE_NOTES_SHOWN);
    assert.deepEqual(notes.notes.at(-1), { kind: 'changed', path: '/srv/log', detail: null });
    assert.match(notes.summary() ?? '', /^25 files could not be read \(not in the backup\); 1 file changed while it was read/);
  });
});

describe('the "full by" forecast', () => {
  const gib = 1024 ** 3;
  it('extends the growth of the recent runs to the capacity', () => {
    const history = [0, 1, 2, 3].map((d) => ({ at: NOW + d * DAY, usedBytes: (10 + d) * gib, capacityBytes: 20 * gib }));
    // 1 GiB a day, 7 GiB left after the last run: full a week after it
    assert.equal(forecastFull(history), NOW + 3 * DAY + 7 * DAY);
  });

  it('has no answer with too little history or no growth', () => {
    assert.equal(forecastFull([{ at: NOW, usedBytes: 1, capacityBytes: 10 }]), null);
    assert.equal(forecastFull([{ at: NOW, usedBytes: 1, capacityBytes: 10 }, { at: NOW + 3600_000, usedBytes: 5, capacityBytes: 10 }]), null, 'less than a day apart');
    assert.equal(forecastFull([{ at: NOW, usedBytes: 5, capacityBytes: 10 }, { at: NOW + 2 * DAY, usedBytes: 4, capacityBytes: 10 }]), null, 'shrinking');
  });
});

function entry(over: Partial<LedgerEntry>): LedgerEntry {
  return {
    driveId: `id-${over.name ?? 'A'}`,
    name: 'A',
    model: null,
    serial: null,
    connected: false,
    state: 'away',
    jobId: null,
    capacityBytes: null,
    freeBytes: null,
    registeredAt: new Date(NOW - 60 * DAY).toISOString(),
    lastPluggedAt: null,
    awaySince: null,
    lastGoodBackupAt: null,
    lastRun: null,
    snapshotCount: 0,
    oldestSnapshotAt: null,
    newestSnapshotAt: null,
    lastCheck: null,
    readBackFraction: 0,
    fullyReadBackAt: null,
    lastDrill: null,
    pruneSuspended: null,
    fullBy: null,
    ...over,
  };
}
const iso = (ms: number) => new Date(ms).toISOString();

describe('swap reminders and "am I protected?"', () => {
  const a = entry({ name: 'A', connected: true, state: 'safe-to-unplug', lastPluggedAt: iso(NOW - DAY), lastGoodBackupAt: iso(NOW - DAY) });
  const b = entry({ name: 'B', awaySince: iso(NOW - 3 * DAY), lastGoodBackupAt: iso(NOW - 3 * DAY) });

  it('is protected with a fresh backup and the other drive away a few days', () => {
    const view = judgeProtection({ drives: [a, b], sources: 2, settings: DEFAULT_BACKUP_SETTINGS, recoveryKitNeeded: false, now: NOW });
    assert.equal(view.level, 'ok');
    assert.equal(view.headline, 'Protected: the newest backup is 1 day old, on drive A.');
    assert.deepEqual(view.longestAway, { driveName: 'B', since: b.awaySince });
    assert.equal(view.swapDue, null);
  });

  it('asks for a swap when a drive stayed plugged in, or away, for 7 days', () => {
    const stayed = { ...a, lastPluggedAt: iso(NOW - 8 * DAY) };
    assert.match(swapDue([stayed, b], DEFAULT_BACKUP_SETTINGS, NOW) ?? '', /^Drive A has been plugged in for 8 days/);
    const longAway = { ...b, awaySince: iso(NOW - 7 * DAY) };
    assert.match(swapDue([a, longAway], DEFAULT_BACKUP_SETTINGS, NOW) ?? '', /^Drive B has been away for 7 days/);
    assert.equal(swapDue([stayed], DEFAULT_BACKUP_SETTINGS, NOW), null, 'one drive alone cannot be swapped');
    const view = judgeProtection({ drives: [a, longAway], sources: 1, settings: DEFAULT_BACKUP_SETTINGS, recoveryKitNeeded: false, now: NOW });
    assert.equal(view.level, 'attention');
  });

  it('is a problem when no drive had a good backup for 8 days, or a backup looked like ransomware', () => {
    const old = [{ ...a, connected: false, state: 'away' as const, lastGoodBackupAt: iso(NOW - 9 * DAY), awaySince: iso(NOW - 9 * DAY) }, { ...b, lastGoodBackupAt: iso(NOW - 10 * DAY) }];
    const stale = judgeProtection({ drives: old, sources: 1, settings: DEFAULT_BACKUP_SETTINGS, recoveryKitNeeded: false, now: NOW });
    assert.equal(stale.level, 'problem');
    assert.match(stale.stale ?? '', /No drive has had a good backup for 9 days \(the newest is on drive A\)/);
    const tripped = judgeProtection({ drives: [{ ...a, pruneSuspended: { since: iso(NOW), reason: 'x' } }, b], sources: 1, settings: DEFAULT_BACKUP_SETTINGS, recoveryKitNeeded: false, now: NOW });
    assert.equal(tripped.level, 'problem');
    assert.match(tripped.headline, /Suspicious backup on drive A/);
  });

  it('says what is missing before the first backup, and asks for the recovery kit', () => {
    assert.match(judgeProtection({ drives: [], sources: 1, settings: DEFAULT_BACKUP_SETTINGS, recoveryKitNeeded: false, now: NOW }).headline, /register a USB drive/);
    assert.match(judgeProtection({ drives: [a], sources: 0, settings: DEFAULT_BACKUP_SETTINGS, recoveryKitNeeded: false, now: NOW }).headline, /choose the folders to protect/);
    const kit = judgeProtection({ drives: [a, b], sources: 2, settings: DEFAULT_BACKUP_SETTINGS, recoveryKitNeeded: true, now: NOW });
    assert.equal(kit.level, 'attention');
    assert.equal(kit.headline, 'Protected: the newest backup is 1 day old, on drive A. Save the recovery kit: without it the backups cannot be opened if this box is lost.');
    assert.equal(kit.recoveryKitNeeded, true);
  });
});
