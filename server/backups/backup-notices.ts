/**
 * The words the owner reads about backups: every alert, reminder and "safe to unplug" mail of the
 * backup service, as data for `AlertService.notify()` and `observeCondition()` (which log them,
 * keep them open on the dashboard while they last and mail them). Pure: no I/O.
 */
import type { ConditionObservation } from '../alerts/alert.service.js';
import type { NoticeMail } from '../alerts/alert-mail.js';
import { formatSize } from '../drives/drive.model.js';
import type { RunRow } from './backup.repository.js';
import type { Source } from './source.repository.js';

/** What `AlertService.notify()` takes. */
export interface Notice {
  kind: string;
  severity: 'info' | 'warning' | 'error';
  subject: string;
  message: string;
  mail: NoticeMail;
}

const BACKUPS_LINK = { label: 'Open the backups page', path: 'backups' };

/** A path for a mail or a log line: control characters shown as `?`. */
export function safePath(path: string): string {
  return path.replace(/[\u0000-\u001f\u007f]/g, '?');
}

export function swapCondition(swapDue: string | null): ConditionObservation {
  return {
    key: 'rotation:swap',
    kind: 'rotation.swap-due',
    state: swapDue ? 'due' : 'ok',
    normal: !swapDue,
    severity: 'warning',
    message: swapDue ?? 'The rotation is up to date.',
    mail: {
      subject: 'Time to swap your backup drives',
      banner: 'Swap your backup drives',
      tone: 'warn',
      happened: [swapDue ?? ''],
      means: ['A backup drive kept in another place is what saves your files from a fire, a theft or a flood at home. It only helps if it is brought back now and then for a fresh backup.'],
      steps: ['Unplug the drive that is in the box once the page says it is safe to unplug.', 'Plug in the drive that was kept elsewhere: the backup starts by itself.', 'Take the first drive to where the other one was kept.'],
      link: BACKUPS_LINK,
    },
  };
}

export function staleCondition(stale: string | null): ConditionObservation {
  return {
    key: 'backups:stale',
    kind: 'backup.stale',
    state: stale ? 'stale' : 'ok',
    normal: !stale,
    severity: 'error',
    message: stale ?? 'Backups are recent.',
    mail: {
      subject: 'No recent backup',
      banner: 'No recent backup',
      tone: 'bad',
      happened: [stale ?? ''],
      means: ['Files changed or added since the newest backup are not protected against a deletion, a broken disk or ransomware.'],
      steps: ['Plug one of your rotation backup drives into the box: the backup starts by itself.', 'Wait until the page says the drive is safe to unplug.'],
      link: BACKUPS_LINK,
    },
  };
}

/** A source refused by the interlocks (`check` says why), or back to normal (`check` null). */
export function sourceCondition(source: Source, refused: { code: string; message: string } | null): ConditionObservation {
  return {
    key: `source:${source.name}`,
    kind: 'backup.source-refused',
    state: refused?.code ?? 'ok',
    normal: refused === null,
    severity: 'error',
    message: refused?.message ?? `Source "${source.name}" is back and backed up.`,
    mail: {
      subject: `Source "${source.name}" was not backed up`,
      banner: 'A folder was not backed up',
      tone: 'bad',
      happened: refused ? [refused.message] : [],
      means: ['Safehold refuses to back up a folder that is missing or suddenly empty, because that usually means the disk behind it is not mounted, and an empty backup must never replace the good ones. The earlier backups are untouched.'],
      steps: [`Check that the disk holding ${source.path} is connected and mounted.`, 'The next backup (the next time a rotation drive is plugged in) includes it again.'],
      link: BACKUPS_LINK,
    },
  };
}

/** The tripwire fired on a drive (`reason` in words), or the owner looked (`reason` null). */
export function suspiciousCondition(driveName: string, driveId: string, reason: string | null): ConditionObservation {
  return {
    key: `tripwire:${driveId}`,
    kind: 'backup.suspicious',
    state: reason ? 'suspicious' : 'ok',
    normal: reason === null,
    severity: 'error',
    driveId,
    message: reason
      ? `Suspicious backup on drive ${driveName}: ${reason} Old backups on the drive are kept until you look.`
      : `Drive ${driveName}: the owner looked at the suspicious backups.`,
    mail: {
      subject: `Suspicious backup on drive ${driveName}`,
      banner: 'Many files changed at once',
      tone: 'bad',
      happened: reason ? [reason] : [],
      means: [
        'So many changed files at once can be a big reorganisation you made, or ransomware encrypting your files. Until you look, Safehold keeps every older backup on this drive (nothing is removed by the retention policy), so the good copies cannot be pushed out.',
      ],
      steps: ['Open a few of the changed files on the box: do they still open?', 'If they do not, do not plug in your other rotation drive; restore from an older backup.', 'If the change was yours, press "I have looked: resume pruning" on the backups page.'],
      link: BACKUPS_LINK,
    },
  };
}

export function runFailedNotice(driveName: string, driveId: string, interrupted: boolean, message: string): Notice {
  const what = interrupted ? 'interrupted' : 'failed';
  return {
    kind: `backup.${what}`,
    severity: 'error',
    subject: driveId,
    message: `Backup onto drive ${driveName} ${what}: ${message}`,
    mail: {
      subject: `Backup onto drive ${driveName} ${what}`,
      banner: interrupted ? 'Backup interrupted' : 'Backup failed',
      tone: 'bad',
      happened: [message],
      means: ['The files changed since the last good backup are not protected yet.'],
      steps: interrupted ? ["Check the drive's cable and plug it in again.", 'Wait until the page says it is safe to unplug.'] : ['Open the backups page to see what went wrong.'],
      link: BACKUPS_LINK,
    },
  };
}

export function safeToUnplugNotice(driveName: string, driveId: string, run: RunRow): Notice {
  const good = run.outcome === 'good';
  return {
    kind: 'backup.safe-to-unplug',
    severity: good ? 'info' : 'warning',
    subject: driveId,
    message: run.message ?? `Drive ${driveName} is safe to unplug.`,
    mail: {
      subject: `Drive ${driveName} is safe to unplug`,
      banner: good ? `Backup done: drive ${driveName} is safe to unplug` : `Drive ${driveName} is safe to unplug, with problems`,
      tone: good ? 'good' : 'warn',
      happened: [run.message ?? ''],
      facts: runFacts(run),
      steps: ['Unplug the drive and take it to where you keep it, away from the box.'],
      link: BACKUPS_LINK,
    },
  };
}

export function checkFailedNotice(driveName: string, driveId: string, slice: string, problems: string[]): Notice {
  return {
    kind: 'backup.check-failed',
    severity: 'error',
    subject: driveId,
    message: `The verification of drive ${driveName} found problems: ${problems.slice(0, 3).join('; ')}`,
    mail: {
      subject: `Backup drive ${driveName} failed its verification`,
      banner: 'Verification found problems',
      tone: 'bad',
      happened: [`Safehold read back part of the backups on drive ${driveName} (slice ${slice}) and restic found problems:`, ...problems.slice(0, 10)],
      means: ['Some backups on this drive may not restore. Your other rotation drives are not affected.'],
      steps: ["Check the drive's health on the Drives page.", 'Keep using your other rotation drive(s) and consider replacing this one.'],
      link: BACKUPS_LINK,
    },
  };
}

export function drillFailedNotice(driveName: string, driveId: string, mismatches: string[]): Notice {
  const n = mismatches.length;
  return {
    kind: 'backup.drill-failed',
    severity: 'error',
    subject: driveId,
    message: `Restore drill on drive ${driveName}: ${n} file${n === 1 ? '' : 's'} did not come back as they are on the box (${mismatches.slice(0, 3).map(safePath).join(', ')}).`,
    mail: {
      subject: `Restore drill failed on drive ${driveName}`,
      banner: 'A restored file did not match',
      tone: 'bad',
      happened: [`Safehold restored a sample of files from the backup just made on drive ${driveName} and compared them with the box's copies. These came back different or not at all:`, ...mismatches.slice(0, 10).map(safePath)],
      means: ['A backup that does not restore is no backup. The drive or the box may be damaging data.'],
      steps: ["Check the health of the drive and of the box's disks on the Drives page.", 'Keep your other rotation drive(s) safe; do not reuse this one until the cause is found.'],
      link: BACKUPS_LINK,
    },
  };
}

/** One line per source, the verification and the drill, for the "safe to unplug" mail. */
function runFacts(run: RunRow): Array<[string, string]> {
  const facts: Array<[string, string]> = run.sources.map((s) => [
    `Source ${s.name}`,
    s.outcome === 'backed-up'
      ? `${s.files ?? '?'} files, ${formatSize(s.bytes ?? 0)}${s.suspicious ? ` — SUSPICIOUS: ${s.suspicious}` : ''}${s.message ? ` — ${s.message}` : ''}`
      : `not backed up: ${s.message ?? s.outcome}`,
  ]);
  if (run.check) facts.push(['Verification', run.check.ok ? `passed (slice ${run.check.slice} of the data read back)` : `FAILED: ${run.check.problems.slice(0, 2).join('; ')}`]);
  if (run.drill) facts.push(['Restore drill', run.drill.ok ? (run.drill.note ?? `${run.drill.files} files restored and compared, all identical`) : `${run.drill.mismatches.length} files differed`]);
  return facts;
}
