// The recovery kit (GET /recovery-kit and /recovery-kit/text): every repository with its password
// and the exact stock-restic commands, and the owner's "I have saved it" (POST /recovery-kit/saved).
// It holds secrets: it is read when its page opens and forgotten at logout.
import type { ApiClient } from '../api/client.ts';
import type { RecoveryKit } from '../api/types.ts';

export class RecoveryKitState {
  kit = $state.raw<RecoveryKit | null>(null);
  /** The kit as the plain text the server writes (the restore commands included). */
  text = $state<string | null>(null);
  loaded = $state(false);
  saving = $state(false);

  readonly #api: ApiClient;

  constructor(api: ApiClient) {
    this.#api = api;
  }

  /** The file's address, for "Download the kit". */
  get fileUrl(): string {
    return this.#api.recoveryKitFileUrl;
  }

  async load(): Promise<void> {
    const [kit, text] = await Promise.all([this.#api.recoveryKit(), this.#api.recoveryKitText()]);
    this.kit = kit;
    this.text = text;
    this.loaded = true;
  }

  /** The owner confirms having saved it; returns when. */
  async markSaved(): Promise<string> {
    this.saving = true;
    try {
      const { savedAt } = await this.#api.markRecoveryKitSaved();
      if (this.kit) this.kit = { ...this.kit, savedAt };
      return savedAt;
    } finally {
      this.saving = false;
    }
  }

  clear(): void {
    this.kit = null;
    this.text = null;
    this.loaded = false;
    this.saving = false;
  }
}
