// The UI talks to the book through this interface only. The Tauri
// implementation wraps the generated commands; tests use a fake.
import { commands, type CommandError, type Result } from "./bindings";

type Commands = typeof commands;

/** Each command, resolving to its data or throwing a CommandFailure. */
export type BookApi = {
  [K in keyof Commands]: Commands[K] extends (...args: infer A) => Promise<Result<infer R, CommandError>>
    ? (...args: A) => Promise<R>
    : never;
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

function unwrapAll(raw: Commands): BookApi {
  const api: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(raw)) {
    api[name] = async (...args: unknown[]) => {
      const r = (await (fn as (...a: unknown[]) => Promise<Result<unknown, CommandError>>)(...args));
      if (r.status === "error") throw new CommandFailure(r.error);
      return r.data;
    };
  }
  return api as BookApi;
}

export async function tauriBackend(): Promise<Backend> {
  const dialog = await import("@tauri-apps/plugin-dialog");
  const clipboard = await import("@tauri-apps/plugin-clipboard-manager");
  const notification = await import("@tauri-apps/plugin-notification");
  const opener = await import("@tauri-apps/plugin-opener");
  return {
    ...unwrapAll(commands),
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
