/**
 * Until alert e-mail is set up, the status says so plainly, with the way to fix it: the API's
 * `alerts.notice`, `safehold status`; once e-mail is on, the notice is gone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Browserish, safehold, startServiceProcess, type ServiceProcess } from '../testing/service.js';
import { startMailCatcher, type MailCatcher } from '../testing/smtp.js';

const NOTICE = /Alerts are not set up: you will not hear of a failing disk/;

describe('alerts not set up', () => {
  let svc: ServiceProcess;
  let admin: Browserish;
  let smtp: MailCatcher;

  before(async () => {
    smtp = await startMailCatcher();
    svc = await startServiceProcess();
    admin = new Browserish(svc.base);
    await admin.setup(svc.dataDir);
  });
  after(async () => {
    await svc?.dispose();
    await smtp?.close();
  });

  it('says so in the status and in `safehold status` until e-mail is set up', async () => {
    const status = (await admin.get('/status')).json;
    assert.equal(status.alerts.setUp, false);
    assert.match(status.alerts.notice, NOTICE);
    assert.match(status.alerts.notice, /Settings/);
    const cli = await safehold(['status', '--data', svc.dataDir]);
    assert.match(cli.stdout, NOTICE);

    const saved = await admin.request('PUT', '/settings/alerts', {
      enabled: true,
      smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', user: null, from: 'safehold@box.lan', to: ['owner@family.example'] },
      digest: { enabled: false, hour: 8 },
    });
    assert.equal(saved.status, 200);
    const after = (await admin.get('/status')).json;
    assert.deepEqual(after.alerts, { setUp: true, notice: null, notSentLastDay: 0 });
    assert.doesNotMatch((await safehold(['status', '--data', svc.dataDir])).stdout, NOTICE);
  });
});
