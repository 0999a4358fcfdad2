// Readings of a rotation ledger entry that the card and the state class share.
import type { LedgerEntry } from './api/types.ts';

/**
 * Plugged in, its last backup ended and was unmounted, yet the ledger does not call it safe to
 * unplug: it is mounted again for browsing or restoring (the server keeps it mounted for 5 minutes
 * after the last use, docs/api.md "Restore"), and sends no event when that ends.
 */
export function isOpenForRestore(entry: LedgerEntry): boolean {
  const run = entry.lastRun;
  return entry.connected && entry.state === 'attention' && !!run && (run.outcome === 'good' || run.outcome === 'partial') && run.safeToUnplug;
}
