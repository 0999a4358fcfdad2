/**
 * The disk-health benchmark (`make bench`; results go in bench/README.md by hand).
 *
 * 1. Judging: every captured smartctl output in test/fixtures/smartctl/ parsed and assessed
 *    (`parseSmartJson` + `assess`), many rounds; the reference is `JSON.parse` of the same texts,
 *    the floor any judge of this data pays. Time per file and heap kept are printed.
 * 2. One poll cycle over 24 disks, through the real path: the service's own parts (catalog, job
 *    runner, drive inventory on a simulated host of 24 SATA disks, the health service with the real
 *    smartctl adapter and command runner) with the stand-in smartctl first on the runner's tools path answering as a
 *    captured drive. The reference is the same 24 smartctl invocations run one after the other with
 *    nothing else: what the tool itself costs here. The ratio is what Safehold adds (judging,
 *    history, alerts bookkeeping) on top of asking the disks.
 * Run with the service's own Node options (the Makefile does), so the judging is timed as shipped.
 * Nothing here is a test: numbers are printed, never asserted.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { ManualClock, SystemClock } from '../system/clock.js';
import { SimulatedBlockDevices, SimulatedHost } from '../system/drives/simulated-host.js';
import { OutboxMailTransport } from '../system/mail/mail.sim.js';
import { ProcessCommandRunner } from '../system/process/command-runner.js';
import { toolsPath } from '../system/tools.js';
import { SmartctlAdapter } from '../system/smart/smartctl.adapter.js';
import { ActivityRepository } from '../server/activity/activity.repository.js';
import { ActivityService } from '../server/activity/activity.service.js';
import { AlertRepository } from '../server/alerts/alert.repository.js';
import { AlertService } from '../server/alerts/alert.service.js';
import { openCatalog } from '../server/catalog/catalog.js';
import { DriveRepository } from '../server/drives/drive.repository.js';
import { DriveService } from '../server/drives/drive.service.js';
import { EventBus } from '../server/events.js';
import { assess } from '../server/health/assess.js';
import { HealthService, POLL_JOB } from '../server/health/health.service.js';
import { SmartHistoryRepository } from '../server/health/smart-history.repository.js';
import { parseSmartJson } from '../server/health/smart.model.js';
import { JobRunner } from '../server/jobs/job-runner.js';
import { JobRepository } from '../server/jobs/job.repository.js';
import { Scheduler } from '../server/jobs/scheduler.js';
import { SecretStore } from '../server/settings/secrets.js';
import { SettingsRepository } from '../server/settings/settings.repository.js';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = join(root, 'test', 'fixtures', 'smartctl');
const STANDIN = join(root, 'test', 'fixtures', 'bin');
const ROUNDS = 200;
const DISKS = 24;
const CYCLES = 5;

const ms = (ns: bigint) => Number(ns) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function judging() {
  const names = (await readdir(FIXTURES)).filter((f) => f.endsWith('.json'));
  const texts = await Promise.all(names.map((n) => readFile(join(FIXTURES, n), 'utf8')));
  const bytes = texts.reduce((s, t) => s + t.length, 0);
  const time = (work: () => void) => {
    for (let i = 0; i < 20; i++) work(); // warm-up
    const start = process.hrtime.bigint();
    for (let i = 0; i < ROUNDS; i++) work();
    return ms(process.hrtime.bigint() - start) / (ROUNDS * texts.length);
  };
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const judged = texts.map((t) => assess(parseSmartJson(t)));
  global.gc?.();
  const heapKept = process.memoryUsage().heapUsed - heapBefore;
  const ours = time(() => texts.forEach((t) => assess(parseSmartJson(t))));
  const reference = time(() => texts.forEach((t) => JSON.parse(t)));
  return { files: texts.length, bytes, ours, reference, heapKept, verdicts: judged.length };
}

async function pollCycle() {
  const work = await mkdtemp(join(tmpdir(), 'safehold-bench-health-'));
  try {
    const scenario = join(work, 'scenario.json');
    await writeFile(scenario, JSON.stringify({ '*': { default: { file: 'sat-wdc-wd140edfz-healthy-selftest-running.json' } } }));
    // The stand-in first, as the tests put it (system/tools.ts), for the service's runner and the reference alike.
    const standInPath = `${STANDIN}:${toolsPath()}`;
    const env = { SAFEHOLD_SMARTCTL_SCENARIO: scenario };
    const host = await SimulatedHost.open(join(work, 'host'));
    for (let i = 0; i < DISKS; i++) {
      await host.addDisk({
        name: `sd${String.fromCharCode(97 + i)}`,
        model: 'WDC WD140EDFZ-11A0VA0', vendor: 'ATA', serial: `BENCH${i}`, wwn: null,
        sizeBytes: 14_000_519_643_136, bus: 'sata', removable: false, rotational: true, plugged: true,
        partitions: [{ fsType: 'ext4', uuid: null, label: null, sizeBytes: 14_000_000_000_000, usedBytes: 0 }],
      });
    }
    const log = pino({ level: 'silent' });
    const clock = new SystemClock();
    const db = openCatalog(join(work, 'catalog.db'));
    const bus = new EventBus();
    const activity = new ActivityService(new ActivityRepository(db), bus, clock);
    const jobs = new JobRunner({ repo: new JobRepository(db), clock, bus, log });
    const drives = new DriveService({ repo: new DriveRepository(db), devices: new SimulatedBlockDevices(host), activity, bus, clock, log, dataDir: work });
    const settings = new SettingsRepository(db);
    const alerts = new AlertService({
      repo: new AlertRepository(db), settings, secrets: new SecretStore(work), transport: new OutboxMailTransport(join(work, 'outbox')),
      activity, bus, clock, log, pageUrl: () => 'http://safehold.local:8080/',
    });
    const runner = new ProcessCommandRunner({ toolsPath: standInPath });
    const reader = new SmartctlAdapter({ runner: { run: (cmd, args, o) => runner.run(cmd, args, { ...o, env: { ...env, ...o?.env } }) } });
    const health = new HealthService({ reader, history: new SmartHistoryRepository(db), drives, jobs, alerts, activity, settings, scheduler: new Scheduler(new ManualClock(), log), bus, clock, log });
    drives.setHealthSource((id) => health.summary(id));
    health.start();
    jobs.start();
    await drives.refresh();
    const paths = drives.list().map((d) => d.path);

    const cycles: number[] = [];
    for (let c = 0; c < CYCLES; c++) {
      const start = process.hrtime.bigint();
      const job = jobs.submit(POLL_JOB);
      const ended = await jobs.settled(job.id);
      if (ended.state !== 'succeeded') throw new Error(`poll ${ended.state}: ${ended.message}`);
      cycles.push(ms(process.hrtime.bigint() - start));
    }
    const reference: number[] = [];
    for (let c = 0; c < CYCLES; c++) {
      const start = process.hrtime.bigint();
      for (const path of paths) await run('smartctl', ['--json', '-x', '-n', 'standby', path], { env: { ...process.env, ...env, PATH: standInPath } }).catch(() => undefined);
      reference.push(ms(process.hrtime.bigint() - start));
    }
    const rows = (db.prepare('SELECT count(*) AS n FROM smart_reads').get() as { n: number }).n;
    await jobs.shutdown(1000);
    db.close();
    return { disks: paths.length, ours: median(cycles), reference: median(reference), rows };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const j = await judging();
const p = await pollCycle();
const rss = process.memoryUsage().rss / 2 ** 20;
process.stdout.write(
  [
    '',
    `Disk-health benchmark: node ${process.version}, ${process.arch}`,
    '',
    '| measure | Safehold | reference | ratio |',
    '|:--|--:|--:|--:|',
    `| judge one captured output (parse + assess), ${j.files} files, ${(j.bytes / 1024).toFixed(0)} KiB, mean (ms) | ${j.ours.toFixed(3)} | ${j.reference.toFixed(3)} (JSON.parse) | ${(j.ours / j.reference).toFixed(1)}× |`,
    `| one poll cycle over ${p.disks} disks, median of ${CYCLES} (ms) | ${p.ours.toFixed(0)} | ${p.reference.toFixed(0)} (the same smartctl calls alone) | ${(p.ours / p.reference).toFixed(2)}× |`,
    '',
    `Heap kept by ${j.verdicts} assessments: ${(j.heapKept / 1024).toFixed(0)} KiB${global.gc ? '' : ' (run with --expose-gc for a steady figure)'}; process RSS at the end ${rss.toFixed(1)} MiB.`,
    `History rows written: ${p.rows}, one per disk and read (the ${CYCLES} timed cycles and the check that follows plugging the disks in).`,
    '',
  ].join('\n'),
);
