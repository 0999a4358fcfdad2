/**
 * `safehold shares …`: the shared folders of the storage pool (docs/pool.md, "Shares").
 *   shares [--json]                       every share: copies, state, its folder on the box
 *   shares add NAME --copies 1|2|3|all    a new share
 *   shares set NAME --copies 1|2|3|all    another duplication level
 *   shares remove NAME                    off the network; its files stay on the disks
 *   shares restore NAME                   a removed share back on the network
 *   shares delete-files NAME --yes        a removed share's files deleted from every disk
 */
import type { Config } from '../config.js';
import type { ShareView } from '../pool/share.service.js';
import { UsageError } from './failures.js';
import { callService, waitForJob } from './local-client.js';
import type { OptionKinds, ParsedLine } from './options.js';
import { printable } from './printable.js';

export const SHARES_OPTIONS: OptionKinds = { json: { type: 'boolean' }, copies: { type: 'string' }, yes: { type: 'boolean' } };

const USE =
  'Use "safehold shares [--json]", "shares add NAME --copies 1|2|3|all", "shares set NAME --copies N", "shares remove NAME", "shares restore NAME" or "shares delete-files NAME --yes".';

function copiesOption(value: unknown): 1 | 2 | 3 | 'all' {
  if (value === 'all') return 'all';
  if (value === '1' || value === '2' || value === '3') return Number(value) as 1 | 2 | 3;
  throw new UsageError(`--copies takes 1, 2, 3 or all${value === undefined ? '' : `, not "${printable(String(value))}"`}.`);
}

export const copiesText = (copies: ShareView['copies']) => (copies === 'all' ? 'every disk' : `${copies} ${copies === 1 ? 'copy' : 'copies'}`);

export async function sharesCommand(config: Config, args: string[], values: ParsedLine['values'], json: boolean): Promise<number> {
  const [action = 'list', name, ...extra] = args;
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
    else for (const s of body.shares) process.stdout.write(`${printable(s.name).padEnd(20)} ${copiesText(s.copies).padEnd(11)} ${s.state === 'removed' ? 'removed (files kept)' : 'on the network'}  ${printable(s.path)}\n`);
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
