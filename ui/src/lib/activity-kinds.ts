/**
 * What each kind of activity entry is, in words a family can read ("Drive connected"); the page
 * shows these and keeps the event key (`drive.attached`) on the entry for whoever looks for it.
 * Alerts are recorded as `alert.<what it is about>`. A kind missing here is shown from its key's
 * words ("backup.new-thing" -> "Backup: new thing"), never as the raw key.
 */
const WORDS: Record<string, string> = {
  'auth.login': 'Sign-in',
  'auth.setup': 'Set up',
  'auth.unlocked': 'Sign-in unlocked',
  'backup.check-failed': 'Backup check failed',
  'backup.drill-failed': 'Test restore failed',
  'backup.pruning-resumed': 'Old backups removed again',
  'backup.restored': 'Files restored',
  'backup.retention-failed': 'Old backups could not be removed',
  'backup.safe-to-unplug': 'Backup done',
  'backup.source-refused': 'Folder not backed up',
  'backup.stale': 'Backups getting old',
  'backup.strays-removed': 'Leftovers cleaned up',
  'backup.suspicious': 'Suspicious backup',
  'drive.attached': 'Drive connected',
  'drive.detached': 'Drive disconnected',
  'drive.renamed': 'Drive renamed',
  'health.acknowledged': 'Disk warning acknowledged',
  'health.bridge': 'USB adapter hides disk health',
  'job.interrupted': 'Work interrupted',
  'rotation.registered': 'New rotation drive',
  'rotation.swap-due': 'Time to swap drives',
  'service.started': 'Safehold started',
  'service.stopped': 'Safehold stopped',
  'settings.alerts': 'Alert settings',
  'settings.backups': 'Backup settings',
  'settings.health': 'Disk check schedules',
  'source.added': 'Folder protected',
  'source.changed': 'Folder changed',
  'source.removed': 'Folder no longer protected',
  'alert.mail-failed': 'Alert e-mail not sent',
  'alert.not-set-up': 'Alerts not set up',
  'alert.test': 'Test e-mail',
  // what disk-health alerts are about
  verdict: 'Disk health',
  'counter-grew': 'Disk health counter grew',
  missing: 'Disk missing',
  'self-test-failed': 'Self-test failed',
  'too-hot': 'Disk too hot',
  back: 'Disk back',
};

const fromKey = (key: string) => {
  const [area, ...rest] = key.split('.');
  const words = rest.join(' ').replaceAll('-', ' ');
  const head = (area ?? '').replaceAll('-', ' ');
  return `${head.charAt(0).toUpperCase()}${head.slice(1)}${words ? `: ${words}` : ''}`;
};

/** The words for an activity kind. */
export function kindWords(kind: string): string {
  const known = WORDS[kind];
  if (known) return known;
  if (kind.startsWith('alert.')) return `Alert: ${kindWords(kind.slice('alert.'.length))}`;
  return fromKey(kind);
}
