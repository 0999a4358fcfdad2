/** An entry of the activity log, as the API and the page see it. Pure types: the page imports them too. */

export type ActivityLevel = 'info' | 'warning' | 'error';

export interface ActivityEntry {
  id: number;
  at: string;
  level: ActivityLevel;
  /** Dotted event name, e.g. `drive.attached`, `service.started`. */
  kind: string;
  /** What it is about (a drive id, a job id), or null. */
  subject: string | null;
  message: string;
}

export interface NewActivity {
  level: ActivityLevel;
  kind: string;
  subject?: string | null;
  message: string;
  data?: unknown;
}
