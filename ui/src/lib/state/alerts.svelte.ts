// Problems going on now (GET /alerts/open), kept current by the `alert` event: an OpenAlert when one
// opens or changes, `{ key, resolved: true }` when it closes. Held worst first.
import type { ApiClient } from '../api/client.ts';
import type { AlertEvent, OpenAlert } from '../api/types.ts';

export class AlertsState {
  /** Errors before warnings; within a severity the newest first. */
  alerts = $state.raw<OpenAlert[]>([]);
  loaded = $state(false);
  /** The worst severity open now, or null when nothing is open. */
  worst = $derived<OpenAlert['severity'] | null>(this.alerts[0]?.severity ?? null);

  readonly #api: ApiClient;

  constructor(api: ApiClient) {
    this.#api = api;
  }

  async load(): Promise<void> {
    const { alerts } = await this.#api.openAlerts();
    this.alerts = sortWorstFirst(alerts);
    this.loaded = true;
  }

  /** One `alert` event: replaces the alert with the same key, or removes it when resolved. */
  apply(event: AlertEvent): void {
    const rest = this.alerts.filter((a) => a.key !== event.key);
    this.alerts = 'resolved' in event ? rest : sortWorstFirst([...rest, event]);
  }

  /** The open alerts about one drive. */
  forDrive(driveId: string): OpenAlert[] {
    return this.alerts.filter((a) => a.driveId === driveId);
  }

  clear(): void {
    this.alerts = [];
    this.loaded = false;
  }
}

const RANK: Record<string, number> = { error: 0, warning: 1 };

function sortWorstFirst(alerts: OpenAlert[]): OpenAlert[] {
  return [...alerts].sort((a, b) => (RANK[a.severity] ?? 2) - (RANK[b.severity] ?? 2) || Date.parse(b.since) - Date.parse(a.since));
}
