/**
 * The addresses the admin page is reachable at, for the start banner.
 *
 * Contract: bound to all interfaces (`0.0.0.0`, `::` or empty), every non-internal IPv4 address of
 * the machine's interfaces, then `<host>.local` (when the host name is a plain name, as mDNS
 * announces it), then `localhost`; bound to one address, that address alone. URLs end with `/`.
 */
import { hostname, networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

const ALL_INTERFACES = new Set(['0.0.0.0', '::', '']);

export interface Machine {
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>;
  hostname: string;
}

export function pageUrls(listen: string, port: number, machine: Machine = { interfaces: networkInterfaces(), hostname: hostname() }): string[] {
  const url = (host: string) => `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  if (!ALL_INTERFACES.has(listen)) return [url(listen)];
  const lan = Object.values(machine.interfaces)
    .flatMap((list) => list ?? [])
    .filter((a) => a.family === 'IPv4' && !a.internal)
    .map((a) => a.address);
  const name = machine.hostname.toLowerCase();
  const local = /^[a-z0-9][a-z0-9-]*$/.test(name) && name !== 'localhost' ? [`${name}.local`] : [];
  return [...new Set([...lan, ...local, 'localhost'])].map(url);
}
