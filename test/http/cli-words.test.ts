/**
 * The command line in words (issue 10): a refusal is one line and an exit status, never a
 * JavaScript stack; an unknown option is refused by every command; and what it prints for a person
 * reads like the page: plurals, states in words, times in the box's zone, sizes in the page's units.
 * The real CLI against the real service (simulated host), and a stand-in socket for a service that
 * hangs up or answers garbage.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isInstalled } from '../../system/tools.js';
import { safehold, startServiceProcess, waitFor, type ServiceProcess } from '../testing/service.js';

const hasRestic = await isInstalled('restic');
/** A line of a JavaScript stack trace ("    at main (file:///…/main.js:12:3)"). */
const STACK = /^\s+at .+\(?.*:\d+:\d+\)?$/m;

function assertWords(run: { code: number; stderr: string }, code: number, words: RegExp, what: string) {
  assert.equal(run.code, code, `${what}: exit status (stderr: ${run.stderr})`);
  assert.doesNotMatch(run.stderr, STACK, `${what}: no stack trace`);
  assert.doesNotMatch(run.stderr, /\b(TypeError|Error):/, `${what}: no error class name`);
  assert.match(run.stderr, words, what);
}

describe('the command line refuses in words', () => {
  let svc: ServiceProcess;
  before(async () => {
    svc = await startServiceProcess();
  });
  after(() => svc.dispose());

  it('a refusal by the service is one line and exit status 1, without a stack', async () => {
    const missing = await safehold(['sources', 'add', 'bad', '/tmp/safehold-test-no-such-folder/documents', '--data', svc.dataDir]);
    assertWords(missing, 1, /^safehold: .*does not exist\. Is its disk mounted\?\n$/, 'sources add with a missing path');

    const system = await safehold(['rotation', 'add', '/dev/mmcblk0', '--name', 'A', '--data', svc.dataDir]);
    assertWords(system, 1, /^safehold: .*system/i, 'rotation add on the system disk');
    assert.equal(system.stderr.trim().split('\n').length, 1, 'one line');

    const noDrive = await safehold(['backups', 'run', 'Z', '--data', svc.dataDir]);
    assertWords(noDrive, 2, /no rotation drive called Z/, 'backups run with an unknown drive');
  });

  it('refuses an unknown option with exit status 2 and the usage hint, for every command', async () => {
    const drives = await safehold(['drives', '--jsn', '--data', svc.dataDir]);
    assertWords(drives, 2, /Unknown option --jsn/, 'drives --jsn');
    assert.match(drives.stderr, /Run "safehold help"/);
    assert.equal(drives.stdout, '', 'nothing was listed');

    const commands = [
      ['serve'], ['status'], ['drives'], ['sources'], ['sources', 'add', 'x', '/tmp'], ['sources', 'remove', 'x'], ['rotation'],
      ['rotation', 'add', '/dev/usb-a', '--name', 'A'], ['backups'], ['backups', 'run', 'A'], ['restore', 'snapshots', 'A'],
      ['recovery-kit'], ['unlock'], ['password'], ['reset-password'], ['smart', 'assess', '-'], ['demo', 'list'], ['help'],
    ];
    for (const command of commands) {
      const run = await safehold([...command, '--bogus', '--data', svc.dataDir]);
      assertWords(run, 2, /Unknown option --bogus/, `${command.join(' ')} --bogus`);
    }
    // an option of another command is unknown too
    assertWords(await safehold(['status', '--exclude', 'x', '--data', svc.dataDir]), 2, /Unknown option --exclude/, 'status --exclude');
    // a known option without its value
    assertWords(await safehold(['rotation', 'add', '/dev/usb-a', '--name']), 2, /--name needs a value/, 'rotation add --name');
  });
});

describe('the command line when the socket misbehaves', () => {
  let folder: string;
  let server: Server | null = null;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'safehold-test-socket-'));
  });
  after(async () => {
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
    await rm(folder, { recursive: true, force: true });
  });
  const listen = (onConnection: (socket: import('node:net').Socket) => void) =>
    new Promise<void>((done) => {
      server = createServer(onConnection).listen(join(folder, 'safehold.sock'), done);
    });
  const close = () => new Promise<void>((done) => server!.close(() => done()));
  /** A stand-in service that reads the request, then answers `raw` (an HTTP response) and hangs up. */
  const answering = (raw: string) => listen((socket) => socket.once('data', () => socket.end(raw)));

  it('says the service hung up, and what an answer that is not JSON was, without a stack', async () => {
    await listen((socket) => socket.destroy());
    assertWords(await safehold(['status', '--data', folder]), 1, /^safehold: .*service .*(closed|hung up|connection)/i, 'a socket that hangs up');
    await close();

    await answering('HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"error":{"code":"internal","message":"Something went wrong inside Safehold. The service log has the details."}}');
    assertWords(await safehold(['drives', '--data', folder]), 1, /^safehold: Something went wrong inside Safehold\. The service log has the details\.\n$/, 'a 500 with a message');
    await close();

    await answering('HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n<html>oops</html>');
    assertWords(await safehold(['sources', '--data', folder]), 1, /^safehold: .*not JSON/, 'an answer that is not JSON');
    await close();
    server = null;
  });
});

describe('the command line speaks like the page', { skip: hasRestic ? false : 'restic is not installed (apt-get install restic)' }, () => {
  let svc: ServiceProcess;
  let documents: string;
  /** The box's zone, as an owner in Berlin would have it: CET in December, CEST in summer. */
  const berlin = { env: { TZ: 'Europe/Berlin' } };
  const cli = (...args: string[]) => safehold([...args, '--data', svc.dataDir], berlin);

  before(async () => {
    svc = await startServiceProcess();
    documents = await mkdtemp(join(tmpdir(), 'safehold-words-docs-'));
    await writeFile(join(documents, 'letter.txt'), 'Dear grandma,\n');
  });
  after(async () => {
    await svc?.dispose();
    await rm(documents, { recursive: true, force: true });
  });

  it('drives: roles and health in words, sizes as on the page', async () => {
    await waitFor(async () => /sdb .*Warning/.test((await cli('drives')).stdout), 10_000, 'health in the list');
    const { stdout } = await cli('drives');
    assert.match(stdout, /^mmcblk0\s+32 GB\s+SD card\s+System disk\s+Health not reported/m);
    assert.match(stdout, /^sda\s+14 TB\s+SATA\s+Not in use\s+Healthy/m);
    assert.match(stdout, /^usb-a\s+\S+ [kMGT]?B\s+USB\s+Not in use/m);
    assert.doesNotMatch(stdout, /\b(unassigned|healthy|warning)\b/, 'no raw state');
  });

  it('backups, rotation, restore: one snapshot, states in words, times with the zone', async () => {
    assert.equal((await cli('sources', 'add', 'documents', documents)).code, 0);
    const added = await cli('rotation', 'add', '/dev/usb-a', '--name', 'A', '--format', '--yes');
    assert.equal(added.code, 0, added.stderr);
    await waitFor(async () => /^Drive A: safe to unplug/m.test((await cli('backups')).stdout), 60_000, 'drive A backed up and safe to unplug');

    const backups = (await cli('backups')).stdout;
    const time = String.raw`\d{4}-\d\d-\d\d \d\d:\d\d (CET|CEST)`;
    assert.match(backups, new RegExp(`^Drive A: safe to unplug; last good backup ${time}; 1 snapshot \\(${time}\\)`, 'm'));
    assert.doesNotMatch(backups, /1 snapshots|safe-to-unplug/);

    const rotation = (await cli('rotation')).stdout;
    assert.match(rotation, /^A\s+plugged in\b.*registered \d{4}-\d\d-\d\d/m);

    const snapshots = (await cli('restore', 'snapshots', 'A')).stdout;
    assert.match(snapshots, new RegExp(`^[0-9a-f]{8}  ${time}  documents\\s+\\S+  1 file, \\d+ B$`, 'm'));
    const listing = (await cli('restore', 'ls', 'A', 'latest')).stdout;
    assert.match(listing, /snapshot [0-9a-f]{8} of \d{4}-\d\d-\d\d \d\d:\d\d (CET|CEST)\)/);
    assert.match(listing, new RegExp(`^\\s+14 B  ${time}  letter\\.txt$`, 'm'));

    await cli('demo', 'unplug', 'usb-a');
    await waitFor(async () => /^Drive A: away/m.test((await cli('backups')).stdout), 10_000, 'drive A away');
    assert.match((await cli('backups')).stdout, new RegExp(`^Drive A: away since ${time}; `, 'm'));
    assert.match((await cli('rotation')).stdout, /^A\s+away\b/m);

    // --json is the API's, unchanged
    const json = JSON.parse((await cli('backups', '--json')).stdout) as { drives: Array<{ state: string; snapshotCount: number }> };
    assert.equal(json.drives[0]!.state, 'away');
    assert.equal(json.drives[0]!.snapshotCount, 1);
  });

});
