// The owner's settings of issue 3: how alerts are sent by e-mail (GET/PUT /settings/alerts, the
// password is never read back, only whether one is stored) and when disks are checked
// (GET/PUT /settings/health, cron expressions), plus the outcome of the last test e-mail.
import { ApiError, type ApiClient } from '../api/client.ts';
import type { AlertSettingsInput, AlertSettingsView, HealthSettings } from '../api/types.ts';

/** What the last "send test e-mail" did: sent to these addresses, or failed and why. */
export type TestEmailResult =
  | { ok: true; to: string[]; at: number }
  | { ok: false; kind: string; message: string; advice: string | null; at: number };

export class SettingsState {
  alerts = $state.raw<AlertSettingsView | null>(null);
  health = $state.raw<HealthSettings | null>(null);
  loaded = $state(false);
  testing = $state(false);
  testResult = $state.raw<TestEmailResult | null>(null);

  readonly #api: ApiClient;

  constructor(api: ApiClient) {
    this.#api = api;
  }

  async load(): Promise<void> {
    const [alerts, health] = await Promise.all([this.#api.alertSettings(), this.#api.healthSettings()]);
    this.alerts = alerts;
    this.health = health;
    this.loaded = true;
  }

  /** Saves the alert settings; a 400 is thrown with its field issues (`smtp.host`, `smtp.to.1`…). */
  async saveAlerts(input: AlertSettingsInput): Promise<void> {
    this.alerts = await this.#api.saveAlertSettings(input);
  }

  /** Saves the schedules; a bad cron expression is a 400 naming the field (`pollSchedule`). */
  async saveHealth(input: HealthSettings): Promise<void> {
    this.health = await this.#api.saveHealthSettings(input);
  }

  /**
   * Sends a test e-mail with the saved settings. A failure to send (502 `mail_failed`) and a test
   * too many (429, a few are allowed in five minutes) are answers, kept in `testResult` with the
   * server's words and advice; other errors are thrown.
   */
  async sendTest(): Promise<void> {
    this.testing = true;
    this.testResult = null;
    try {
      const { to } = await this.#api.sendTestEmail();
      this.testResult = { ok: true, to, at: Date.now() };
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        this.testResult = { ok: false, kind: 'too-many-tests', message: err.message, advice: null, at: Date.now() };
      } else if (err instanceof ApiError && (err.code === 'mail_failed' || err.status === 502)) {
        this.testResult = { ok: false, kind: err.detail.kind ?? 'other', message: err.message, advice: err.detail.advice ?? null, at: Date.now() };
      } else {
        throw err;
      }
    } finally {
      this.testing = false;
    }
  }

  clear(): void {
    this.alerts = null;
    this.health = null;
    this.loaded = false;
    this.testing = false;
    this.testResult = null;
  }
}
