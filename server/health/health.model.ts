/**
 * The vocabulary of a health assessment, shared by the rules, the monitoring jobs, the API and the
 * admin page (which imports these types only). No imports: this file must stay free of node modules.
 *
 * Keys name one counter on one disk across every layer: `ata:<attribute id>` (`ata:197`),
 * `nvme:<health log field>` (`nvme:media_errors`), `scsi:<counter>` (`scsi:grown_defects`). The same
 * key is a reason's `attribute`, an acknowledgement's `key` and a history snapshot's counter name.
 * docs/health.md explains every rule.
 */

/** The judgement of one disk, worst first: failing > warning > healthy; `unknown` when there was nothing to judge. */
export type Verdict = 'healthy' | 'warning' | 'failing' | 'unknown';

/**
 * The weight of one reason. `failing` and `warning` set the verdict; `unknown` says why nothing
 * could be judged; `info` never changes the verdict (acknowledged counters, notes, what was checked).
 */
export type Severity = 'failing' | 'warning' | 'unknown' | 'info';

export interface Reason {
  severity: Severity;
  /** Stable, machine-readable name of the rule that spoke (`ata-pending`, `nvme-spare`, `trend`…). */
  code: string;
  /** One sentence a person reads: "7 sectors pending reallocation (attribute 197)". */
  message: string;
  /** The counter the reason is about, when there is one (`ata:197`); the key to acknowledge it. */
  attribute?: string;
}

export interface Assessment {
  verdict: Verdict;
  /** Most severe first; never empty. */
  reasons: Reason[];
}

/** How the disk talks: decides which rule table applies. */
export type DiskInterface = 'ata' | 'nvme' | 'scsi' | 'unknown';

/** What the disk is made of: decides the default temperature limit. */
export type MediaKind = 'hdd' | 'ssd' | 'nvme' | 'unknown';

/**
 * The owner's "I know about this one": the verdict ignores counter `key` on this disk while its value
 * stays at or below `value`, and counts it again as soon as it grows.
 */
export interface CounterAcknowledgement {
  key: string;
  value: number;
  /** When it was acknowledged: ISO 8601 text or epoch milliseconds. */
  at?: string | number;
  note?: string | null;
}

/** The counters of one earlier read (see `healthCounters` in assess.ts), for trends. */
export interface CounterSnapshot {
  /** When that read was taken: ISO 8601 text or epoch milliseconds. */
  at: string | number;
  counters: Record<string, number>;
}
