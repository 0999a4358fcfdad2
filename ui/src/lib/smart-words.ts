/**
 * SMART in words a family can act on. smartctl's own messages ("Unable to detect device type") and
 * attribute names ("Reallocated_Sector_Ct") are what an expert searches for, so the page shows the
 * words first and keeps smartctl's spelling beside them.
 */

/** smartctl messages that reach a disk's health line, and what they mean. */
const MESSAGES: { pattern: RegExp; words: string }[] = [
  { pattern: /Unable to detect device type|please specify device type|Unknown device type/i, words: 'This disk does not report its health through the way it is connected (often a USB adapter that does not pass it on).' },
  { pattern: /Unknown USB bridge|USB bridge .* type is ambiguous/i, words: 'The USB adapter of this disk hides its health.' },
  { pattern: /Permission denied/i, words: 'Safehold was not allowed to read this disk\'s health.' },
  { pattern: /open device: .* failed|No such device|No such file/i, words: 'The disk could not be opened to read its health: it may have been unplugged.' },
];

/**
 * A health line in words: `words` is what to show, `technical` smartctl's text to keep beside it
 * (null when the line already is in words).
 */
export function explainHealthText(text: string): { words: string; technical: string | null } {
  const known = MESSAGES.find((m) => m.pattern.test(text));
  return known ? { words: known.words, technical: text } : { words: text, technical: null };
}

/** The common ATA attributes in words, by smartctl's name. */
const ATTRIBUTES: Record<string, string> = {
  Raw_Read_Error_Rate: 'Read errors (rate)',
  Spin_Up_Time: 'Time to spin up',
  Start_Stop_Count: 'Times started and stopped',
  Reallocated_Sector_Ct: 'Bad spots moved to spare space',
  Seek_Error_Rate: 'Head positioning errors (rate)',
  Power_On_Hours: 'Hours switched on',
  Spin_Retry_Count: 'Retries to spin up',
  Power_Cycle_Count: 'Times switched on',
  Reported_Uncorrect: 'Errors it could not correct',
  Command_Timeout: 'Commands that timed out',
  Airflow_Temperature_Cel: 'Temperature (airflow)',
  Temperature_Celsius: 'Temperature',
  Power_Off_Retract_Count: 'Emergency head parks (power loss)',
  Load_Cycle_Count: 'Head parks',
  Hardware_ECC_Recovered: 'Errors corrected by the disk',
  Reallocated_Event_Count: 'Moves to spare space',
  Current_Pending_Sector: 'Unreadable spots waiting to be moved',
  Offline_Uncorrectable: 'Unreadable spots found by the disk\'s own scan',
  UDMA_CRC_Error_Count: 'Cable or connection errors',
  Multi_Zone_Error_Rate: 'Write errors (rate)',
  Wear_Leveling_Count: 'Flash wear',
  Media_Wearout_Indicator: 'Flash wear left',
  Total_LBAs_Written: 'Data written',
  Total_LBAs_Read: 'Data read',
};

/** An attribute's name in words, or null when there are none (then smartctl's name is shown alone). */
export function attributeWords(name: string): string | null {
  return ATTRIBUTES[name] ?? null;
}
