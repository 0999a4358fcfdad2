// Readings of a rotation ledger entry that the card and the state class share.
import type { LedgerEntry } from './api/types.ts';

/**
 * Plugged in and mounted again for browsing or restoring (the server keeps it mounted for 5 minutes
 * after the last use, docs/api.md "Restore"): not safe to unplug until then.
 */
export function isOpenForRestore(entry: LedgerEntry): boolean {
  return entry.connected && entry.state === 'in-use';
}
