/**
 * `safehold shares …`: the shared folders of the storage pool (docs/pool.md, "Shares").
 *   shares [--json]                       every share: copies, state, its folder on the box
 *   shares add NAME --copies 1|2|3|all    a new share
 *   shares set NAME --copies 1|2|3|all    another duplication level
 *   shares remove NAME                    off the network; its files stay on the disks
 *   shares restore NAME                   a removed share back on the network
 *   shares delete-files NAME --yes        a removed share's files deleted from every disk
 *   shares grant SHARE USER rw|ro         a household user may read and change, or only read, a share
 *   shares revoke SHARE USER              a household user can no longer use a share
 */
import type { Config } from '../config.js';
import type { ShareView } from '../pool/share.service.js';
import { UsageError } from './failures.js';
import { callService, waitForJob } from './local-client.js';
import type { OptionKinds, ParsedLine } from './options.js';
import { printable } from './printable.js';

export const SHARES_OPTIONS: OptionKinds = { json: { type: 'boolean' }, copies: { type: 'string' }, yes: { type: 'boolean' } };

const USE =
  'Use "safehold shares [--json]", "shares add NAME --copies 1|2|3|all", "shares set NAME --copies N", "shares remove NAME", "shares restore NAME", "shares delete-files NAME --yes", "shares grant SHARE USER rw|ro" or "shares revoke SHARE USER".';

function copiesOption(value: unknown): 1 | 2 | 3 | 'all' {
  if (value === 'all') return 'all';
  if (value === '1' || value === '2' || value === '3') return Number(value) as 1 | 2 | 3;
  throw new UsageError(`--copies takes 1, 2, 3 or all${value === undefined ? '' : `, not "${printable(String(value))}"`}.`);
}

export const copiesText = (copies: ShareView['copies']) => (copies === 'all' ? 'every disk' : `${copies} ${copies === 1 ? 'copy' : 'copies'}`);

export async function sharesCommand(config: Config, args: string[], values: ParsedLine['values'], json: boolean): Promise<number> {
  const [action = 'list', name, ...extra] = args;
  if (action === 'grant' || action === 'revoke') return grantCommand(config, action, args.slice(1), json);
  if (extra.length) throw new UsageError(USE);
  const call = (method: string, path: string, body: unknown, expected: number) => callService(config.dataDir, method, path, body, expected);
  const at = (n: string) => `/shares/${encodeURIComponent(n)}`;
  const say = (share: ShareView, words: string) => {
    if (json) process.stdout.write(`${JSON.stringify({ share }, null, 2)}\n`);
    else process.stdout.write(`${words}\n`);
    return 0;
  };
  if (action === 'list') {
    if (name !== undefined || values.copies !== undefined || values.yes) throw new UsageError(USE);
    const body = (await call('GET', '/shares', undefined, 200)) as { shares: ShareView[] };
    if (json) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    else if (body.shares.length === 0) process.stdout.write('No shares yet. Make one with "safehold shares add NAME --copies 2".\n');
    else {
      for (const s of body.shares) {
        process.stdout.write(`${printable(s.name).padEnd(20)} ${copiesText(s.copies).padEnd(11)} ${s.state === 'removed' ? 'removed (files kept)' : 'on the network'}  ${printable(s.path)}\n`);
        if (s.smb) process.stdout.write(`  address: ${printable(s.smb.windows ?? s.smb.linux)}${s.smb.windows ? ` (macOS, Linux: ${printable(s.smb.macos)})` : ''}\n`);
        if (s.state === 'active') process.stdout.write(`  users: ${s.grants.length ? s.grants.map((g) => `${printable(g.user)} (${g.access === 'rw' ? 'read and change' : 'read only'})`).join(', ') : 'nobody yet ("safehold shares grant SHARE USER rw")'}\n`);
      }
    }
    return 0;
  }
  if (!name) throw new UsageError(USE);
  switch (action) {
    case 'add': {
      const { share } = (await call('POST', '/shares', { name, copies: copiesOption(values.copies) }, 201)) as { share: ShareView };
      return say(share, `Share ${printable(share.name)} is made: ${copiesText(share.copies)} of each file. Its folder on the box: ${printable(share.path)}`);
    }
    case 'set': {
      const { share } = (await call('PATCH', at(name), { copies: copiesOption(values.copies) }, 200)) as { share: ShareView };
      return say(share, `Share ${printable(share.name)} now keeps ${copiesText(share.copies)} of each file.`);
    }
    case 'remove': {
      const { share } = (await call('POST', `${at(name)}/remove`, {}, 200)) as { share: ShareView };
      return say(share, `Share ${printable(share.name)} is off the network. Its files stay on the disks until "safehold shares delete-files ${printable(share.name)} --yes"; "safehold shares restore ${printable(share.name)}" brings it back.`);
    }
    case 'restore': {
      const { share } = (await call('POST', `${at(name)}/restore`, {}, 200)) as { share: ShareView };
      return say(share, `Share ${printable(share.name)} is back on the network.`);
    }
    case 'delete-files': {
      if (!values.yes) throw new UsageError(`delete-files deletes every file of ${printable(name)} from the pool's disks: add --yes to confirm.`);
      const { job } = (await call('POST', `${at(name)}/delete-files`, { confirm: name }, 202)) as { job: { id: number } };
      const done = await waitForJob(config.dataDir, job.id);
      process.stdout.write(`${printable(done.message ?? done.state)}\n`);
      return done.state === 'succeeded' ? 0 : 1;
    }
    default:
      throw new UsageError(USE);
  }
}

/** `shares grant SHARE USER rw|ro`, `shares revoke SHARE USER`. */
async function grantCommand(config: Config, action: 'grant' | 'revoke', args: string[], json: boolean): Promise<number> {
  const [share, user, access, ...extra] = args;
  const use = action === 'grant' ? 'Use "safehold shares grant SHARE USER rw|ro".' : 'Use "safehold shares revoke SHARE USER".';
  if (!share || !user || extra.length || (action === 'grant' ? access !== 'rw' && access !== 'ro' : access !== undefined)) throw new UsageError(use);
  const path = `/shares/${encodeURIComponent(share)}/grants/${encodeURIComponent(user)}`;
  const { share: view } = (await (action === 'grant' ? callService(config.dataDir, 'PUT', path, { access }, 200) : callService(config.dataDir, 'DELETE', path, undefined, 200))) as { share: ShareView };
  if (json) process.stdout.write(`${JSON.stringify({ share: view }, null, 2)}\n`);
  else if (action === 'grant') process.stdout.write(`${printable(user)} may now ${access === 'rw' ? 'read and change' : 'only read'} the files of ${printable(view.name)}.\n`);
  else process.stdout.write(`${printable(user)} can no longer use ${printable(view.name)}.\n`);
  return 0;
}
