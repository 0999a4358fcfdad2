/** `safehold smart assess FILE [--json]`: the command function, fed a fixture path, standard input and bad input. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { smartAssessCommand } from '../../server/cli/smart-assess.command.js';

// Compiled to dist/test/unit/: the fixtures stay in the source tree.
const fixtures = fileURLToPath(new URL('../../../test/fixtures/smartctl/', import.meta.url));

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

async function run(args: string[], stdinText = '') {
  const stdout = capture();
  const stderr = capture();
  const code = await smartAssessCommand(args, { stdin: Readable.from([Buffer.from(stdinText)]), stdout: stdout.stream, stderr: stderr.stream });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('safehold smart assess', () => {
  it('judges a fixture file: the verdict, then one reason per line; exit 0 even when failing', async () => {
    const r = await run([join(fixtures, 'usbjmicron-wdc-wd3200bevt-failing-now.json')]);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'FAILING: WDC WD3200BEVT-60ZCT0, serial WD-WXE708D44602, ATA');
    assert.match(lines[1]!, /^ {2}failing +The drive's own SMART overall-health self-assessment FAILED/);
    assert.ok(lines.some((l) => /^ {2}failing +535 reallocated sectors \(attribute 5\)/.test(l)));
  });

  it('--json prints exactly verdict, reasons and device', async () => {
    const r = await run([join(fixtures, 'sat-samsung-ssd840-crc-errors.json'), '--json']);
    assert.equal(r.code, 0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(out), ['verdict', 'reasons', 'device']);
    assert.equal(out.verdict, 'warning');
    assert.deepEqual(out.device, { model: 'Samsung SSD 840 Series', serial: 'S14LNEACC02756X', interface: 'ata' });
    assert.deepEqual((out.reasons as unknown[])[0], {
      severity: 'warning',
      code: 'ata-crc',
      message: '108 interface CRC errors (attribute 199): usually a cable or enclosure, not the disk',
      attribute: 'ata:199',
    });
  });

  it('"-" reads standard input', async () => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(join(fixtures, 'nvme-skhynix-pc601-healthy-compact.json'), 'utf8');
    const r = await run(['-', '--json'], text);
    assert.equal(r.code, 0);
    const out = JSON.parse(r.stdout) as { verdict: string; device: { interface: string; model: string } };
    assert.equal(out.verdict, 'healthy');
    assert.equal(out.device.interface, 'nvme');
    assert.equal(out.device.model, 'PC601 NVMe SK hynix 512GB');
  });

  it('an error output or a scan is an answer too: unknown, exit 0', async () => {
    const r = await run([join(fixtures, 'err-nvme-open-permission-denied.json')]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^UNKNOWN: /);
    assert.match(r.stdout, /Permission denied/);
  });

  it('exit 1 with a clear message: no such file, not JSON, JSON that is not smartctl', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'safehold-assess-'));
    try {
      const missing = await run([join(dir, 'nope.json')]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /Cannot read .*nope\.json: there is no such file\./);
      assert.equal(missing.stdout, '');
      writeFileSync(join(dir, 'photo.jpg'), 'ÿØÿà JFIF not json');
      const notJson = await run([join(dir, 'photo.jpg')]);
      assert.equal(notJson.code, 1);
      assert.match(notJson.stderr, /photo\.jpg: This is not smartctl JSON: the text is not valid JSON/);
      const other = await run(['-'], '{"name":"package.json"}');
      assert.equal(other.code, 1);
      assert.match(other.stderr, /standard input: This is JSON, but not smartctl output/);
      const folder = await run([dir]);
      assert.equal(folder.code, 1);
      assert.match(folder.stderr, /it is a folder/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exit 2 for wrong usage', async () => {
    assert.equal((await run([])).code, 2);
    assert.equal((await run(['a.json', 'b.json'])).code, 2);
    const r = await run(['--jsn', 'a.json']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown option "--jsn"[\s\S]*Usage: safehold smart assess FILE \[--json\]/);
  });
});
