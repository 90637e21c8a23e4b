// The UI talks to the book through this interface only. The Tauri
// implementation wraps the generated commands; tests use a fake.
import { Channel } from "@tauri-apps/api/core";
import { commands, type CommandError, type ImportOptions, type ImportProgress, type ImportReport, type Result } from "./bindings";

type Commands = typeof commands;

/** Each command, resolving to its data or throwing a CommandFailure. */
type Unwrapped = {
  [K in keyof Commands]: Commands[K] extends (...args: infer A) => Promise<Result<infer R, CommandError>>
    ? (...args: A) => Promise<R>
    : never;
};

/** The commands, with progress as a plain callback rather than a Tauri channel. */
export type BookApi = Omit<Unwrapped, "importCustomers"> & {
  /** Checks (`dry_run`) or runs an import; `onProgress` hears the rows written. */
  importCustomers(path: string, options: ImportOptions, onProgress?: (p: ImportProgress) => void): Promise<ImportReport>;
};

/** What the shell offers beyond the book: files, the clipboard, notifications. */
export interface DesktopApi {
  pickCsv(): Promise<string | null>;
  pickSavePath(defaultName: string, extension: string): Promise<string | null>;
  copyText(text: string): Promise<void>;
  /** Opens an sms: or mailto: link in the system's app for it. */
  openUrl(url: string): Promise<void>;
  /** A desktop notification; false when the system would not show one. */
  notify(title: string, body: string): Promise<boolean>;
}

export type Backend = BookApi & DesktopApi;

/** An error from the core: branch on `code`, show `message`. */
export class CommandFailure extends Error {
  readonly code: string;
  readonly detail: CommandError;
  constructor(detail: CommandError) {
    super(detail.message);
    this.code = detail.code;
    this.detail = detail;
  }
}

function unwrap<T>(r: Result<T, CommandError>): T {
  if (r.status === "error") throw new CommandFailure(r.error);
  return r.data;
}

function unwrapAll(raw: Commands): Unwrapped {
  const api: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(raw)) {
    api[name] = async (...args: unknown[]) => unwrap(await (fn as (...a: unknown[]) => Promise<Result<unknown, CommandError>>)(...args));
  }
  return api as Unwrapped;
}

async function importCustomers(path: string, options: ImportOptions, onProgress?: (p: ImportProgress) => void) {
  const progress = new Channel<ImportProgress>();
  if (onProgress) progress.onmessage = onProgress;
  return unwrap(await commands.importCustomers(path, options, progress));
}

export async function tauriBackend(): Promise<Backend> {
  const dialog = await import("@tauri-apps/plugin-dialog");
  const clipboard = await import("@tauri-apps/plugin-clipboard-manager");
  const notification = await import("@tauri-apps/plugin-notification");
  const opener = await import("@tauri-apps/plugin-opener");
  return {
    ...unwrapAll(commands),
    importCustomers,
    async pickCsv() {
      const picked = await dialog.open({
        multiple: false,
        directory: false,
        filters: [{ name: "CSV", extensions: ["csv", "txt", "tsv"] }],
      });
      return typeof picked === "string" ? picked : null;
    },
    async pickSavePath(defaultName, extension) {
      return await dialog.save({ defaultPath: defaultName, filters: [{ name: extension.toUpperCase(), extensions: [extension] }] });
    },
    async copyText(text) {
      await clipboard.writeText(text);
    },
    async openUrl(url) {
      await opener.openUrl(url);
    },
    async notify(title, body) {
      try {
        let granted = await notification.isPermissionGranted();
        if (!granted) granted = (await notification.requestPermission()) === "granted";
        if (!granted) return false;
        notification.sendNotification({ title, body });
        return true;
      } catch {
        // No notification service (a bare X session): the in-app banner still shows it.
        return false;
      }
    },
  };
}

/** Inside the desktop window (as opposed to a browser or a test). */
export function inTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}
