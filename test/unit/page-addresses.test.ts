/** The start banner's addresses: every LAN IPv4 address and `<host>.local` when bound to all, else the one address. */
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, it } from 'node:test';
import { pageUrls } from '../../server/http/page-addresses.js';

const nic = (address: string, family: 'IPv4' | 'IPv6', internal = false) => ({ address, family, internal }) as NetworkInterfaceInfo;
const machine = {
  hostname: 'backupbox',
  interfaces: { lo: [nic('127.0.0.1', 'IPv4', true), nic('::1', 'IPv6', true)], eth0: [nic('192.168.1.20', 'IPv4'), nic('fe80::1', 'IPv6')], wlan0: [nic('10.0.0.7', 'IPv4')] },
};

describe('the addresses the start banner names', () => {
  it('bound to every interface: each LAN IPv4 address, the .local name, then localhost', () => {
    const all = ['http://192.168.1.20:8080/', 'http://10.0.0.7:8080/', 'http://backupbox.local:8080/', 'http://localhost:8080/'];
    assert.deepEqual(pageUrls('0.0.0.0', 8080, machine), all);
    assert.deepEqual(pageUrls('::', 8080, machine), all);
  });

  it('leaves out a .local name that mDNS would not announce', () => {
    assert.deepEqual(pageUrls('0.0.0.0', 80, { ...machine, hostname: 'box.example.org' }), ['http://192.168.1.20:80/', 'http://10.0.0.7:80/', 'http://localhost:80/']);
    assert.deepEqual(pageUrls('0.0.0.0', 80, { interfaces: {}, hostname: 'localhost' }), ['http://localhost:80/']);
  });

  it('bound to one address: that one, in brackets for IPv6', () => {
    assert.deepEqual(pageUrls('192.168.1.20', 8080, machine), ['http://192.168.1.20:8080/']);
    assert.deepEqual(pageUrls('fe80::1', 8080, machine), ['http://[fe80::1]:8080/']);
  });
});
