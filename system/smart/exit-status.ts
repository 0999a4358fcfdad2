/**
 * smartctl's exit status, decoded bit by bit.
 *
 * smartctl's status is a bit mask, not a success/failure flag (smartctl(8), section EXIT STATUS).
 * Bits 0-2 say something about the command; bits 3-7 are facts about the disk. A non-zero status is
 * therefore data for the health rules, never a reason for the adapter to throw.
 */

/** The eight bits, in the man page's order (bit 0 first). */
export const EXIT_STATUS_BITS = [
  { bit: 0, key: 'commandLineDidNotParse', meaning: 'Command line did not parse.' },
  {
    bit: 1,
    key: 'deviceOpenFailed',
    meaning: 'Device open failed, device did not return an IDENTIFY DEVICE structure, or device is in a low-power mode.',
  },
  {
    bit: 2,
    key: 'commandFailed',
    meaning: 'Some SMART or other ATA command to the disk failed, or there was a checksum error in a SMART data structure.',
  },
  { bit: 3, key: 'diskFailing', meaning: 'SMART status check returned "DISK FAILING".' },
  { bit: 4, key: 'prefailAtOrBelowThreshold', meaning: 'Found prefail Attributes <= threshold.' },
  {
    bit: 5,
    key: 'attributesBelowThresholdInPast',
    meaning: 'SMART status check returned "DISK OK" but some (usage or prefail) Attributes have been <= threshold at some time in the past.',
  },
  { bit: 6, key: 'errorLogHasErrors', meaning: 'The device error log contains records of errors.' },
  { bit: 7, key: 'selfTestLogHasErrors', meaning: 'The device self-test log contains records of errors.' },
] as const;

export type ExitStatusFlag = (typeof EXIT_STATUS_BITS)[number]['key'];

export interface DecodedExitStatus {
  /** The raw status, 0-255. */
  value: number;
  /** One boolean per bit, named after the man page's meaning. */
  flags: Record<ExitStatusFlag, boolean>;
  /** The man page's sentence for every bit that is set, lowest bit first; empty for 0. */
  meanings: string[];
}

/**
 * Decodes a smartctl exit status. Pure; never throws. Values outside 0-255 (a status the runner
 * synthesised for a killed process) keep only their low eight bits in `flags`.
 */
export function decodeExitStatus(value: number): DecodedExitStatus {
  const flags = {} as Record<ExitStatusFlag, boolean>;
  const meanings: string[] = [];
  for (const { bit, key, meaning } of EXIT_STATUS_BITS) {
    const set = (value & (1 << bit)) !== 0;
    flags[key] = set;
    if (set) meanings.push(meaning);
  }
  return { value, flags, meanings };
}
