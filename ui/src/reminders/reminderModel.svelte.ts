// Reminders fire from the app itself, offline: once a minute the model asks
// the book for reminders that are due (the book hands each out once, so a
// restart does not repeat them), shows each as a desktop notification and
// keeps it on screen in the app until the associate opens or closes it.
import type { Backend } from "../lib/backend";
import type { Reminder } from "../lib/bindings";
import { i18n } from "../i18n/index.svelte";

/** Local time as the book expects it: `YYYY-MM-DDTHH:MM`. */
export function localMinute(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export class ReminderModel {
  /** Shown in the app until opened or closed, newest last. */
  pending = $state<Reminder[]>([]);
  private checking = false;

  constructor(
    private backend: Backend,
    // Not reactive state, only a reading of the clock (tests pass their own).
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    private now: () => Date = () => new Date(),
  ) {}

  async check(): Promise<Reminder[]> {
    if (this.checking) return [];
    this.checking = true;
    try {
      const due = await this.backend.takeDueReminders(localMinute(this.now()), i18n.locale);
      for (const r of due) await this.backend.notify(r.title, r.body);
      if (due.length) this.pending = [...this.pending, ...due];
      return due;
    } catch {
      // A busy or closed book: the next minute tries again.
      return [];
    } finally {
      this.checking = false;
    }
  }

  close(key: string): void {
    this.pending = this.pending.filter((r) => r.key !== key);
  }

  /** Checks shortly after start, then every `ms`, until the returned function is called. */
  start(ms = 60_000, firstAfter = 2_000): () => void {
    const first = setTimeout(() => void this.check(), firstAfter);
    const timer = setInterval(() => void this.check(), ms);
    return () => {
      clearTimeout(first);
      clearInterval(timer);
    };
  }
}
