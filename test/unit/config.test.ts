import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../server/config.js';
import { InvalidInputError } from '../../server/errors.js';

describe('configuration', () => {
  it('defaults to port 8080 and ./var', () => {
    const config = loadConfig(new Map(), {}, '/opt/safehold');
    assert.equal(config.port, 8080);
    assert.equal(config.dataDir, '/opt/safehold/var');
    assert.equal(config.simulate, false);
  });

  it('takes flags over environment over defaults', () => {
    const config = loadConfig(new Map([['--port', '9000'], ['--data', '/srv/sh']]), { SAFEHOLD_PORT: '7000', SAFEHOLD_DATA: '/elsewhere', SAFEHOLD_HOSTS: 'nas.lan, backup' }, '/');
    assert.equal(config.port, 9000);
    assert.equal(config.dataDir, '/srv/sh');
    assert.deepEqual(config.allowedHosts, ['nas.lan', 'backup']);
    assert.equal(loadConfig(new Map(), { SAFEHOLD_PORT: '7000' }, '/').port, 7000);
  });

  it('refuses a bad port with a clear message', () => {
    assert.throws(() => loadConfig(new Map([['--port', 'eighty']]), {}, '/'), (e: unknown) => e instanceof InvalidInputError && /port/.test(e.message));
    assert.throws(() => loadConfig(new Map([['--port', '70000']]), {}, '/'), InvalidInputError);
  });

  it('trusts no proxy by default; --trusted-proxy or SAFEHOLD_TRUSTED_PROXY names addresses and subnets, and refuses anything else', () => {
    assert.deepEqual(loadConfig(new Map(), {}, '/').trustedProxies, []);
    assert.deepEqual(loadConfig(new Map([['--trusted-proxy', '127.0.0.1, ::1']]), { SAFEHOLD_TRUSTED_PROXY: '10.0.0.1' }, '/').trustedProxies, ['127.0.0.1', '::1']);
    assert.deepEqual(loadConfig(new Map(), { SAFEHOLD_TRUSTED_PROXY: '10.0.0.0/8,fd00::/8' }, '/').trustedProxies, ['10.0.0.0/8', 'fd00::/8']);
    for (const bad of ['proxy.lan', '10.0.0.0/33', '1.2.3.4/8/1', 'true']) {
      assert.throws(
        () => loadConfig(new Map([['--trusted-proxy', bad]]), {}, '/'),
        (e: unknown) => e instanceof InvalidInputError && e.issues.some((i) => i.path.startsWith('trustedProxies')),
        bad,
      );
    }
  });

  it('runs no Samba port of its own unless --smb-port or SAFEHOLD_SMB_PORT names one, and refuses one that is no port', () => {
    assert.equal(loadConfig(new Map(), {}, '/').smbPort, null);
    assert.equal(loadConfig(new Map([['--smb-port', '4450']]), { SAFEHOLD_SMB_PORT: '4451' }, '/').smbPort, 4450);
    assert.equal(loadConfig(new Map(), { SAFEHOLD_SMB_PORT: '4451' }, '/').smbPort, 4451);
    for (const bad of ['0', '70000', 'smb']) {
      assert.throws(() => loadConfig(new Map([['--smb-port', bad]]), {}, '/'), (e: unknown) => e instanceof InvalidInputError && e.issues.some((i) => i.path === 'smbPort'), bad);
    }
    assert.equal(loadConfig(new Map(), {}, '/').smbAccountPrefix, 'sh-');
    assert.throws(() => loadConfig(new Map(), { SAFEHOLD_SMB_ACCOUNT_PREFIX: 'Root' }, '/'), InvalidInputError);
  });
});
