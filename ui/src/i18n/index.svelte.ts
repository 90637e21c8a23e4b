// The current UI language and the `t` lookup. Components call `t(key)` in
// their markup; changing `i18n.locale` re-renders every string.
import { en, type MessageKey } from "./en";
import { zhHans } from "./zh-Hans";
import { zhHant } from "./zh-Hant";

export type Locale = "zh-Hans" | "zh-Hant" | "en";
export const LOCALES: Locale[] = ["zh-Hans", "zh-Hant", "en"];

const dictionaries: Record<Locale, Record<MessageKey, string>> = {
  "zh-Hans": zhHans,
  "zh-Hant": zhHant,
  en,
};

/** The language of the OS (as the webview reports it), mapped to ours. */
export function systemLocale(languages: readonly string[] = navigator.languages ?? [navigator.language]): Locale {
  for (const raw of languages) {
    const l = raw.toLowerCase();
    if (l.startsWith("zh")) {
      return /hant|tw|hk|mo/.test(l) ? "zh-Hant" : "zh-Hans";
    }
    if (l.startsWith("en")) return "en";
  }
  return "zh-Hans";
}

export function isLocale(v: string | null | undefined): v is Locale {
  return !!v && (LOCALES as string[]).includes(v);
}

export const i18n = $state<{ locale: Locale }>({ locale: systemLocale() });

export function translate(locale: Locale, key: MessageKey, vars?: Record<string, string | number>): string {
  const text = dictionaries[locale][key] ?? en[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

export function t(key: MessageKey, vars?: Record<string, string | number>): string {
  return translate(i18n.locale, key, vars);
}

/** A value from a closed list (stage, gender, channel…) in the current language. */
export function label(prefix: string, value: string | null | undefined): string {
  if (!value) return "";
  const key = `${prefix}.${value}` as MessageKey;
  return key in en ? t(key) : value;
}

export type { MessageKey };
