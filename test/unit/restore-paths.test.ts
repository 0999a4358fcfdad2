/** The pure rules of restoring: which paths the API accepts, where restored files go, how a download is named. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  attachmentDisposition,
  besideFolder,
  relativeTo,
  RestoreBody,
  rootOf,
  SnapshotIdParam,
  snapshotDate,
  snapshotPathProblem,
  toBrowseEntries,
} from '../../server/backups/restore.service.js';
import type { SnapshotEntry } from '../../system/restic/restic.js';

describe('paths from the API', () => {
  it('accepts what restic prints, hostile names included', () => {
    for (const ok of ['/', '/srv/photos', '/srv/photos/-rf', '/srv/photos/new\nline.txt', '/srv/photos/caf\uFFFD.txt', '/srv/photos/ tab\there ', '/srv/photos/..hidden', '/srv/photos/...']) {
      assert.equal(snapshotPathProblem(ok), null, JSON.stringify(ok));
    }
  });

  it('refuses relative paths, "." and ".." parts, empty parts, a trailing "/", NUL and broken Unicode', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /Give a path/],
      ['srv/photos', /absolute/],
      ['./x', /absolute/],
      ['/srv/photos/../etc', /"\." or "\.\."/],
      ['/srv/photos/./a', /"\." or "\.\."/],
      ['/srv/photos/..', /"\." or "\.\."/],
      ['/srv//photos', /"\/\/"/],
      ['/srv/photos/', /end with/],
      ['/srv/pho\0tos', /NUL/],
      ['/srv/\uD800photos', /Unicode/],
      [`/${'a'.repeat(9000)}`, /At most/],
    ];
    for (const [path, why] of cases) assert.match(snapshotPathProblem(path) ?? 'accepted', why, JSON.stringify(path));
  });

  it('is inside the snapshot only at its folder or below, not at a sibling sharing its prefix', () => {
    const roots = ['/srv/photos'];
    assert.equal(rootOf('/srv/photos', roots), '/srv/photos');
    assert.equal(rootOf('/srv/photos/2024/a.jpg', roots), '/srv/photos');
    assert.equal(rootOf('/srv/photos-private/a.jpg', roots), null);
    assert.equal(rootOf('/srv', roots), null);
    assert.equal(rootOf('/etc/passwd', roots), null);
    assert.equal(rootOf('/etc/passwd', ['relative/root', '/srv/photos']), null, 'a malformed root counts for nothing');
    assert.equal(rootOf('/srv/photos/a/b', ['/srv', '/srv/photos']), '/srv/photos', 'the nearest root');
    assert.equal(rootOf('/anything', ['/']), '/');
  });

  it('checks the body of a restore: 1 to 100 paths, overwriting only when asked', () => {
    assert.deepEqual(RestoreBody.parse({ paths: ['/srv/photos/a'] }), { paths: ['/srv/photos/a'], target: 'beside', overwrite: false });
    const noConfirm = RestoreBody.safeParse({ paths: ['/srv/photos/a'], target: 'original' });
    assert.equal(noConfirm.success, false);
    assert.deepEqual(noConfirm.error?.issues.map((i) => i.path.join('.')), ['overwrite']);
    assert.equal(RestoreBody.safeParse({ paths: ['/srv/photos/a'], target: 'original', overwrite: true }).success, true);
    assert.equal(RestoreBody.safeParse({ paths: [] }).success, false);
    assert.equal(RestoreBody.safeParse({ paths: Array.from({ length: 101 }, (_, i) => `/srv/p/${i}`) }).success, false);
    assert.deepEqual(RestoreBody.safeParse({ paths: ['/srv/photos/a', '../x'] }).error?.issues.map((i) => i.path.join('.')), ['paths.1']);
    assert.equal(RestoreBody.safeParse({ paths: ['/srv/photos/a'], extra: 1 }).success, false, 'unknown fields refused');
  });

  it('takes snapshot ids of 8 to 64 hex digits', () => {
    assert.equal(SnapshotIdParam.parse('DEADBEEF'), 'deadbeef');
    for (const bad of ['latest', 'deadbee', 'x'.repeat(8), 'a'.repeat(65), '../../x']) assert.equal(SnapshotIdParam.safeParse(bad).success, false, bad);
  });
});

describe('where restored files go', () => {
  it('beside the source, named after the snapshot date, then -2, -3', () => {
    assert.equal(snapshotDate('2026-11-28T06:55:08.123456789+01:00'), '2026-11-28', 'the box\'s local date as restic recorded it');
    assert.equal(besideFolder('/srv/photos', '2026-11-28'), '/srv/photos-restored-2026-11-28');
    assert.equal(besideFolder('/srv/photos', '2026-11-28', 3), '/srv/photos-restored-2026-11-28-3');
    assert.equal(relativeTo('/srv/photos', '/srv/photos/2024/a.jpg'), '2024/a.jpg');
    assert.equal(relativeTo('/srv/photos', '/srv/photos'), '');
  });
});

describe('listing and downloading', () => {
  it('lists folders first, then by name', () => {
    const entry = (name: string, type: SnapshotEntry['type']): SnapshotEntry => ({ name, type, path: `/s/${name}`, size: type === 'file' ? 1 : null, mtime: '', nameIsExact: true });
    const listed = toBrowseEntries([entry('b.txt', 'file'), entry('z', 'dir'), entry('a', 'dir'), entry('fifo', 'fifo'), entry('link', 'symlink')]);
    assert.deepEqual(listed.map((e) => [e.name, e.type]), [['a', 'dir'], ['z', 'dir'], ['b.txt', 'file'], ['fifo', 'other'], ['link', 'symlink']]);
  });

  it('names the attachment safely: plain ASCII as is, anything else with RFC 5987', () => {
    assert.equal(attachmentDisposition('report.pdf'), 'attachment; filename="report.pdf"');
    assert.equal(attachmentDisposition('été.jpg'), `attachment; filename="_t_.jpg"; filename*=UTF-8''%C3%A9t%C3%A9.jpg`);
    assert.equal(attachmentDisposition('new\nline "q".txt'), `attachment; filename="new_line _q_.txt"; filename*=UTF-8''new%0Aline%20%22q%22.txt`);
    assert.equal(attachmentDisposition("it's (1).txt"), `attachment; filename="it's (1).txt"`);
    assert.equal(attachmentDisposition('50%.txt'), `attachment; filename="50_.txt"; filename*=UTF-8''50%25.txt`);
    assert.doesNotMatch(attachmentDisposition('a\r\nSet-Cookie: x'), /[\r\n]/, 'no header injection');
  });
});
