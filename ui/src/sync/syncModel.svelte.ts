// The sync status line's model: polls the shell's sync state, names the
// state a person sees, and runs "sync now". The sync itself runs in the
// shell's background runner; this only reports and asks.
import type { Backend } from "../lib/backend";
import { CommandFailure } from "../lib/backend";
import type { SyncReport, SyncView } from "../lib/bindings";
import { en } from "../i18n/en";
import { t, type MessageKey } from "../i18n/index.svelte";

export type SyncState = "signedOut" | "syncing" | "offline" | "problem" | "pending" | "synced" | "never";

export function syncState(v: SyncView): SyncState {
  if (!v.status.signed_in) return "signedOut";
  if (v.activity.syncing) return "syncing";
  const err = v.status.last_error;
  if (err?.code === "offline" || v.activity.online === false) return "offline";
  if (err) return "problem";
  if (v.status.pending > 0) return "pending";
  return v.status.last_success_at ? "synced" : "never";
}

/** A sync error in the person's language: by code when we know it, else the server's words. */
export function syncErrorText(code: string, message: string): string {
  const key = `sync.error.${code}` as MessageKey;
  return key in en ? t(key) : t("sync.problem", { message });
}

export class SyncModel {
  view = $state<SyncView | null>(null);
  /** Bumped whenever a sync brought changes from others, so views re-read the book. */
  dataVersion = $state(0);
  private lastSuccess: string | null = null;

  constructor(private backend: Backend) {}

  async refresh(): Promise<void> {
    try {
      const v = await this.backend.syncStatus();
      const success = v.status.last_success_at;
      if (this.lastSuccess !== null && success !== this.lastSuccess) this.dataVersion++;
      this.lastSuccess = success ?? this.lastSuccess ?? "";
      this.view = v;
    } catch {
      // The status line keeps its last state; the next poll tries again.
    }
  }

  /** Polls every `ms` until the returned function is called. */
  start(ms = 3000): () => void {
    void this.refresh();
    const timer = setInterval(() => void this.refresh(), ms);
    return () => clearInterval(timer);
  }

  async syncNow(): Promise<SyncReport> {
    if (this.view) this.view = { ...this.view, activity: { ...this.view.activity, syncing: true } };
    try {
      const report = await this.backend.syncNow();
      if (report.pulled > 0) this.dataVersion++;
      return report;
    } finally {
      await this.refresh();
    }
  }

  async signIn(server: string, username: string, password: string): Promise<void> {
    this.view = await this.backend.signIn(server, username, password);
    this.dataVersion++;
  }

  async signOut(): Promise<void> {
    this.view = await this.backend.signOut();
  }
}

export function failureCode(e: unknown): string {
  return e instanceof CommandFailure ? e.code : "internal";
}
