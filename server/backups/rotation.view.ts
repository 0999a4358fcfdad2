/** What the API and the page see of rotation drives (types only: the page imports them). */

/** A registered rotation drive (`GET /rotation/drives`), plugged in or not. */
export interface RotationView {
  driveId: string;
  name: string;
  registeredAt: string;
  connected: boolean;
  model: string | null;
  serial: string | null;
}
