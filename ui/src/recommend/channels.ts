// Where a draft goes once the guard lets it: copied for WeCom (which has no
// way to open a chat with text), or opened in the SMS or mail app. Only the
// customer's own number or address is used.
import type { DesktopApi } from "../lib/backend";

export type Channel = "wecom" | "sms" | "email";

export interface Reach {
  phone: string | null;
  email: string | null;
}

export function channelsFor(reach: Reach | null): Channel[] {
  const out: Channel[] = ["wecom"];
  if (reach?.phone) out.push("sms");
  if (reach?.email) out.push("email");
  return out;
}

export function channelUrl(channel: Channel, reach: Reach, text: string): string | null {
  const body = encodeURIComponent(text);
  if (channel === "sms" && reach.phone) return `sms:${reach.phone.replace(/[^\d+]/g, "")}?body=${body}`;
  if (channel === "email" && reach.email) return `mailto:${encodeURIComponent(reach.email.trim())}?body=${body}`;
  return null;
}

/** Hands the text to the channel: the clipboard, or the SMS / mail app. */
export async function deliver(desktop: DesktopApi, channel: Channel, reach: Reach | null, text: string): Promise<void> {
  const url = reach ? channelUrl(channel, reach, text) : null;
  if (url) await desktop.openUrl(url);
  else await desktop.copyText(text);
}
