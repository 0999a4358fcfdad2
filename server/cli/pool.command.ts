/**
 * `safehold pool [--json]` (the pool's disks) and `safehold pool add DEVICE [--format --yes]`
 * (a disk joins the pool, keeping its files, or erased first). docs/pool.md.
 */
import type { Config } from '../config.js';
import type { DriveView } from '../drives/drive.model.js';
import type { PoolMemberView } from '../pool/pool.view.js';
import { CommandFailure, UsageError } from './failures.js';
import { formatSize, plural } from './format.js';
import { callService, waitForJob } from './local-client.js';
import type { OptionKinds, ParsedLine } from './options.js';
import { printable } from './printable.js';

export const POOL_OPTIONS: OptionKinds = { json: { type: 'boolean' }, format: { type: 'boolean' }, yes: { type: 'boolean' } };

const USE = 'Use "safehold pool [--json]", "safehold pool add DEVICE [--format --yes]", "safehold pool exposure [--json]" "safehold pool missing DISK wait|gone [--yes]", "safehold pool remove DISK [--yes]" or "safehold pool replace DISK DEVICE [--format] --yes".';

interface GonePreflightJson {
  files: number;
  bytes: number;
  fits: boolean;
  notTaking: { displayName: string; why: string }[];
  fewerCount: number;
  fewer: { share: string; path: string; copies: number; wanted: number }[];
  lostCount: number;
  lost: { share: string; path: string }[];
}

function preflightWords(name: string, p: GonePreflightJson): string {
  const lines = [
    p.files === 0
      ? `Every file on ${printable(name)} has its copies on the other disks: nothing needs copying.`
      : `${plural(p.files, 'file')} had a copy on ${printable(name)}: ${formatSize(p.bytes)} will be copied onto the other disks${p.fits ? ', and they have room for it.' : '.'}`,
  ];
  for (const d of p.notTaking) lines.push(`${printable(d.displayName)} takes no new copy: ${d.why}.`);
  if (p.fewerCount) lines.push(`${plural(p.fewerCount, 'file')} would keep fewer copies than asked (no room, a disk's health, or fewer disks than the level): ${p.fewer.map((f) => `${printable(f.share)}/${printable(f.path)}`).join(', ')}${p.fewerCount > p.fewer.length ? ', …' : ''}.`);
  if (p.lostCount) lines.push(`${plural(p.lostCount, 'file')} had ${p.lostCount === 1 ? 'its' : 'their'} only copy there and ${p.lostCount === 1 ? 'is' : 'are'} lost with it (a backup may hold ${p.lostCount === 1 ? 'it' : 'them'}): ${p.lost.map((f) => `${printable(f.share)}/${printable(f.path)}`).join(', ')}${p.lostCount > p.lost.length ? ', …' : ''}.`);
  return `${lines.join('\n')}\n`;
}

interface ExposureJson {
  disks: { driveId: string; displayName: string; state: string; files: number; bytes: number; shares: { share: string; files: number; bytes: number }[] }[];
}

const STATE_WORDS: Record<PoolMemberView['state'], string> = {
  mounted: 'in use',
  mounting: 'being mounted',
  missing: 'missing',
  refused: 'refused',
};

export async function poolCommand(config: Config, args: string[], values: ParsedLine['values'], json: boolean): Promise<number> {
  const [action = 'list', ...rest] = args;
  const format = values.format === true;
  if (action === 'list' && rest.length === 0) {
    if (format || values.yes) throw new UsageError(`--format and --yes go with "safehold pool add". ${USE}`);
    const body = (await callService(config.dataDir, 'GET', '/pool', undefined, 200)) as { members: PoolMemberView[] };
    if (json) {
      process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      return 0;
    }
    if (body.members.length === 0) {
      process.stdout.write('The storage pool has no disks yet. Add one with "safehold pool add DEVICE" (see "safehold drives").\n');
      return 0;
    }
    for (const m of body.members) {
      const space = m.sizeBytes !== null ? `${formatSize(m.freeBytes)} free of ${formatSize(m.sizeBytes)}` : '';
      process.stdout.write(
        `${printable(m.device ?? '-').padEnd(12)} ${STATE_WORDS[m.state].padEnd(13)} ${m.fsType.padEnd(6)} ${space.padEnd(22)} ${printable(m.displayName)}  ${printable(m.mountpoint)}\n`,
      );
      if (m.reason) process.stdout.write(`  ${printable(m.reason)}\n`);
    }
    return 0;
  }
  if (action === 'exposure' && rest.length === 0) {
    if (format || values.yes) throw new UsageError(USE);
    const body = (await callService(config.dataDir, 'GET', '/pool/exposure', undefined, 200)) as ExposureJson;
    if (json) {
      process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      return 0;
    }
    if (body.disks.length === 0) process.stdout.write('The storage pool has no disks yet.\n');
    for (const d of body.disks) {
      process.stdout.write(
        d.files === 0
          ? `${printable(d.displayName)}: if it died now, no file would be lost (each of its files has a copy on another disk).\n`
          : `${printable(d.displayName)}: if it died now, ${plural(d.files, 'file')} (${formatSize(d.bytes)}) would be lost: ${d.shares.map((s) => `${printable(s.share)} ${s.files}`).join(', ')}.\n`,
      );
    }
    return 0;
  }
  if (action === 'missing') {
    const [disk, choice, ...more] = rest;
    if (!disk || (choice !== 'wait' && choice !== 'gone') || more.length) throw new UsageError('Use "safehold pool missing DISK wait" (it will come back) or "safehold pool missing DISK gone --yes" (it is gone for good).');
    const { members } = (await callService(config.dataDir, 'GET', '/pool', undefined, 200)) as { members: PoolMemberView[] };
    const member = members.find((m) => m.driveId === disk || m.displayName.toLowerCase() === disk.toLowerCase());
    if (!member) throw new CommandFailure(`No pool disk is ${printable(disk)}. "safehold pool" lists them (a disk's id or its name).`);
    const at = `/pool/members/${encodeURIComponent(member.driveId)}`;
    if (choice === 'gone') {
      const { preflight } = (await callService(config.dataDir, 'GET', `${at}/gone-preflight`, undefined, 200)) as { preflight: GonePreflightJson };
      process.stdout.write(preflightWords(member.displayName, preflight));
      if (!values.yes) throw new UsageError('Nothing was changed. Add --yes to say the disk is gone for good.');
    }
    await callService(config.dataDir, 'POST', `${at}/missing`, { choice }, 200);
    process.stdout.write(
      choice === 'wait'
        ? `Safehold waits for ${printable(member.displayName)} and stops reminding you; plug it in when you can.\n`
        : `${printable(member.displayName)} left the pool; its files get their new copies on the other disks now.\n`,
    );
    return 0;
  }
  if (action === 'remove') {
    const [disk, ...more] = rest;
    if (!disk || more.length) throw new UsageError('Use "safehold pool remove DISK [--yes]" (DISK: its device, id or name).');
    const { members } = (await callService(config.dataDir, 'GET', '/pool', undefined, 200)) as { members: PoolMemberView[] };
    const member = members.find((m) => m.device === disk || m.driveId === disk || m.displayName.toLowerCase() === disk.toLowerCase());
    if (!member) throw new CommandFailure(`No pool disk is ${printable(disk)}. "safehold pool" lists them.`);
    const at = `/pool/members/${encodeURIComponent(member.driveId)}`;
    const { preflight } = (await callService(config.dataDir, 'GET', `${at}/remove-preflight`, undefined, 200)) as { preflight: GonePreflightJson };
    process.stdout.write(preflightWords(member.displayName, preflight));
    if (!values.yes) throw new UsageError('Nothing was changed. Add --yes to copy away what needs copying and release the disk.');
    const { job } = (await callService(config.dataDir, 'POST', `${at}/remove`, {}, 202)) as { job: { id: number } };
    process.stdout.write(`Removing ${printable(member.displayName)} from the pool (it can be cancelled on the page; the disk then stays in the pool)…\n`);
    const done = await waitForJob(config.dataDir, job.id);
    process.stdout.write(`${printable(done.message ?? done.state)}\n`);
    return done.state === 'succeeded' ? 0 : 1;
  }
  if (action === 'replace') {
    // "I replaced DISK with this disk": the new one joins (it has the most room, so the copies go
    // there first), then the old one leaves: guided removal when it is here, "it is gone" when not.
    const [disk, device, ...more] = rest;
    if (!disk || !device || more.length) throw new UsageError('Use "safehold pool replace DISK DEVICE [--format] --yes" (DISK: the old pool disk; DEVICE: the new disk).');
    if (!values.yes) throw new UsageError(`Nothing was changed. Add --yes to add ${printable(device)} to the pool${format ? ' (erasing it)' : ''} and then take ${printable(disk)} out of it.`);
    const { members } = (await callService(config.dataDir, 'GET', '/pool', undefined, 200)) as { members: PoolMemberView[] };
    const old = members.find((m) => m.device === disk || m.driveId === disk || m.displayName.toLowerCase() === disk.toLowerCase());
    if (!old) throw new CommandFailure(`No pool disk is ${printable(disk)}. "safehold pool" lists them.`);
    const { drives } = (await callService(config.dataDir, 'GET', '/drives', undefined, 200)) as { drives: DriveView[] };
    const fresh = drives.find((d) => d.path === device || d.partitions.some((p) => p.path === device));
    if (!fresh) throw new CommandFailure(`No connected drive is ${printable(device)}. "safehold drives" lists them.`);
    const added = (await callService(config.dataDir, 'POST', '/pool/members', { driveId: fresh.id, mode: format ? 'format' : 'keep', ...(format ? { confirm: fresh.displayName } : {}) }, 202)) as { job: { id: number } };
    process.stdout.write(`Adding ${printable(fresh.displayName)} to the storage pool…\n`);
    const joined = await waitForJob(config.dataDir, added.job.id);
    process.stdout.write(`${printable(joined.message ?? joined.state)}\n`);
    if (joined.state !== 'succeeded') return 1;
    const at = `/pool/members/${encodeURIComponent(old.driveId)}`;
    if (old.state === 'mounted') {
      const { job } = (await callService(config.dataDir, 'POST', `${at}/remove`, {}, 202)) as { job: { id: number } };
      process.stdout.write(`Copying what ${printable(old.displayName)} holds onto the other disks, then releasing it…\n`);
      const done = await waitForJob(config.dataDir, job.id);
      process.stdout.write(`${printable(done.message ?? done.state)}\n`);
      return done.state === 'succeeded' ? 0 : 1;
    }
    const { preflight } = (await callService(config.dataDir, 'POST', `${at}/missing`, { choice: 'gone' }, 200)) as { preflight: GonePreflightJson };
    process.stdout.write(preflightWords(old.displayName, preflight));
    process.stdout.write(`${printable(old.displayName)} left the pool; its files get their new copies now.\n`);
    return 0;
  }
  if (action !== 'add') throw new UsageError(USE);
  const [device] = rest;
  if (!device || rest.length > 1) throw new UsageError('Use "safehold pool add DEVICE [--format --yes]".');
  if (format && !values.yes) throw new UsageError(`--format erases everything on ${printable(device)}: add --yes to confirm.`);
  const { drives } = (await callService(config.dataDir, 'GET', '/drives', undefined, 200)) as { drives: DriveView[] };
  const drive = drives.find((d) => d.path === device || d.partitions.some((p) => p.path === device));
  if (!drive) throw new CommandFailure(`No connected drive is ${printable(device)}. "safehold drives" lists them.`);
  const body = { driveId: drive.id, mode: format ? 'format' : 'keep', ...(format ? { confirm: drive.displayName } : {}) };
  const { job } = (await callService(config.dataDir, 'POST', '/pool/members', body, 202)) as { job: { id: number } };
  process.stdout.write(`Adding ${printable(drive.displayName)} to the storage pool…\n`);
  const done = await waitForJob(config.dataDir, job.id);
  process.stdout.write(`${printable(done.message ?? done.state)}\n`);
  return done.state === 'succeeded' ? 0 : 1;
}
