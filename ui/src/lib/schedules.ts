/**
 * The disk-check schedules offered in words on the Settings page. Each choice is a cron expression
 * in the box's local time; none runs closer together than the server's minimum for its schedule
 * (server/health/health.service.ts, SCHEDULE_MINIMUMS: SMART reads 5 minutes, short self-tests a
 * day, long self-tests a week), so every choice saves. Anything else is typed as cron.
 */
import type { HealthSettings } from './api/types.ts';

export interface ScheduleChoice {
  label: string;
  cron: string;
}

export const SCHEDULE_CHOICES: Record<keyof HealthSettings, readonly ScheduleChoice[]> = {
  pollSchedule: [
    { label: 'Every 5 minutes', cron: '*/5 * * * *' },
    { label: 'Every 15 minutes', cron: '*/15 * * * *' },
    { label: 'Every 30 minutes', cron: '*/30 * * * *' },
    { label: 'Every hour', cron: '0 * * * *' },
    { label: 'Every 6 hours', cron: '0 */6 * * *' },
    { label: 'Every day at 02:00', cron: '0 2 * * *' },
  ],
  shortTestSchedule: [
    { label: 'Every day at 03:00', cron: '0 3 * * *' },
    { label: 'Every Sunday at 03:00', cron: '0 3 * * 0' },
    { label: 'On the 1st of each month at 03:00', cron: '0 3 1 * *' },
  ],
  longTestSchedule: [
    { label: 'Every Sunday at 02:00', cron: '0 2 * * 0' },
    { label: 'On the 1st of each month at 02:00', cron: '0 2 1 * *' },
    { label: 'On the 1st of every third month at 02:00', cron: '0 2 1 */3 *' },
  ],
};

/** The choice a cron expression is (spaces aside), or null when it is one of the owner's own. */
export function choiceOf(field: keyof HealthSettings, cron: string): ScheduleChoice | null {
  const norm = cron.trim().split(/\s+/).join(' ');
  return SCHEDULE_CHOICES[field].find((c) => c.cron === norm) ?? null;
}
