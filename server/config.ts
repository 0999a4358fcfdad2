/**
 * The service's settings (the command line parses the flags: server/cli/options.ts), from flags first, then environment, then defaults:
 *
 * | flag                | environment            | default | meaning                                                                 |
 * | ------------------- | ---------------------- | ------- | ----------------------------------------------------------------------- |
 * | --port N            | SAFEHOLD_PORT          | 8080    | TCP port of the admin page (0: any free port)                           |
 * | --listen ADDR       | SAFEHOLD_LISTEN        | 0.0.0.0 | address to listen on (`::` for IPv6 too)                                |
 * | --data DIR          | SAFEHOLD_DATA          | ./var   | data folder: catalog, setup code, socket, secrets                       |
 * | --hosts A,B         | SAFEHOLD_HOSTS         | (none)  | extra host names the page is reached by                                 |
 * | --simulate          | SAFEHOLD_SIMULATE      | off     | use the simulated host (demo), never real disks                         |
 * | --log-level L       | SAFEHOLD_LOG           | info    | pino level                                                              |
 * | --trusted-proxy A,B | SAFEHOLD_TRUSTED_PROXY | (none)  | reverse proxies (addresses, subnets) whose X-Forwarded-For/-Proto count |
 * | --pool-root DIR     | SAFEHOLD_POOL_ROOT     | see below | where pool disks are mounted (`disks/`) and shares presented (`shares/`) |
 * | --smb-port N        | SAFEHOLD_SMB_PORT      | 445     | TCP port of Safehold's own Samba (given: Safehold runs smbd itself, see below) |
 * | (none)              | SAFEHOLD_SMB_ACCOUNT_PREFIX | sh- | prefix of the Unix accounts of household users and the files owner (tests use their own) |
 *
 * Samba (docs/samba.md): on a box without systemd (no /run/systemd/system), or when --smb-port is
 * given, the service runs its own smbd (folder `<data>/samba`) on that port, listening only on
 * --listen when that is not every address; otherwise it adds its shares to the system's Samba.
 *
 * The pool root defaults to /srv/safehold, and to `<data>/pool` on the simulated host. It is not
 * inside the data folder on a real box: the data folder is private (0700), and the pooled view acts
 * as each household user, who must be able to pass through the folders above the disks.
 */
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { parseInput } from './http/validate.js';

export interface Config {
  port: number;
  listen: string;
  dataDir: string;
  allowedHosts: string[];
  simulate: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Reverse proxies (addresses, or subnets `addr/bits`) whose forwarded headers are believed; empty: none. */
  trustedProxies: string[];
  /** Where pool disks are mounted and shares presented (absolute). */
  poolRoot: string;
  /** The port Safehold's own smbd listens on; null when not given (445, or the system's Samba). */
  smbPort: number | null;
  /** Prefix of the Unix accounts Safehold makes for Samba (`sh-`). */
  smbAccountPrefix: string;
}

/** `192.168.1.2`, `::1`, `10.0.0.0/8`, `fd00::/8`. */
function isAddressOrSubnet(value: string): boolean {
  const [address = '', bits, ...more] = value.split('/');
  const family = isIP(address);
  if (!family || more.length) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

const Schema = z.object({
  port: z.coerce.number().int().min(0).max(65535),
  listen: z.string().min(1),
  dataDir: z.string().min(1),
  allowedHosts: z.array(z.string().regex(/^[A-Za-z0-9.:_-]+$/, 'not a host name')),
  simulate: z.boolean(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  trustedProxies: z.array(z.string().refine(isAddressOrSubnet, 'not an IP address or subnet (e.g. 127.0.0.1 or 10.0.0.0/8)')),
  poolRoot: z.string().min(1).optional(),
  smbPort: z.coerce.number().int().min(1).max(65535).optional(),
  smbAccountPrefix: z.string().regex(/^[a-z_][a-z0-9_-]{0,11}$/, 'up to 12 lowercase letters, digits, "-" or "_"').regex(/[-_]$/, 'must end in "-" or "_"'),
});

export function loadConfig(flags: Map<string, string>, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const pick = (flag: string, name: string) => flags.get(flag) ?? env[name];
  const hosts = pick('--hosts', 'SAFEHOLD_HOSTS');
  const simulate = pick('--simulate', 'SAFEHOLD_SIMULATE');
  const list = (value: string | undefined) => (value ? value.split(',').map((h) => h.trim()).filter(Boolean) : []);
  const config = parseInput(
    Schema,
    {
      port: pick('--port', 'SAFEHOLD_PORT') ?? '8080',
      listen: pick('--listen', 'SAFEHOLD_LISTEN') ?? '0.0.0.0',
      dataDir: pick('--data', 'SAFEHOLD_DATA') ?? './var',
      allowedHosts: list(hosts),
      simulate: simulate === 'true' || simulate === '1',
      logLevel: pick('--log-level', 'SAFEHOLD_LOG') ?? 'info',
      trustedProxies: list(pick('--trusted-proxy', 'SAFEHOLD_TRUSTED_PROXY')),
      poolRoot: pick('--pool-root', 'SAFEHOLD_POOL_ROOT'),
      smbPort: pick('--smb-port', 'SAFEHOLD_SMB_PORT'),
      smbAccountPrefix: env.SAFEHOLD_SMB_ACCOUNT_PREFIX ?? 'sh-',
    },
    'configuration',
  );
  const dataDir = resolve(cwd, config.dataDir);
  const poolRoot = config.poolRoot ? resolve(cwd, config.poolRoot) : config.simulate ? join(dataDir, 'pool') : '/srv/safehold';
  return { ...config, dataDir, poolRoot, smbPort: config.smbPort ?? null };
}
