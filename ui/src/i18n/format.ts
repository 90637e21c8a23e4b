// Dates, phones and money as people in each locale write them.
import type { Locale } from "./index.svelte";

export function intlLocale(locale: Locale): string {
  return locale === "zh-Hans" ? "zh-CN" : locale === "zh-Hant" ? "zh-TW" : "en-GB";
}

function parseDay(text: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!m) return null;
  if (text.length > 10) {
    const d = new Date(text);
    return isNaN(d.getTime()) ? null : d;
  }
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

/** 2026年11月23日 / 23 Nov 2026. Accepts a date or an RFC 3339 time. */
/** 12,345 in every locale we speak (Chinese groups by thousands too). */
export function formatNumber(n: number, locale: Locale): string {
  return new Intl.NumberFormat(intlLocale(locale)).format(n);
}

export function formatDate(text: string | null | undefined, locale: Locale): string {
  if (!text) return "";
  const d = parseDay(text);
  if (!d) return text;
  return new Intl.DateTimeFormat(intlLocale(locale), {
    year: "numeric",
    month: locale === "en" ? "short" : "long",
    day: "numeric",
  }).format(d);
}

/** 2026年11月23日 14:05 / 23 Nov 2026, 14:05 */
export function formatDateTime(text: string | null | undefined, locale: Locale): string {
  if (!text) return "";
  const d = new Date(text);
  if (isNaN(d.getTime())) return text;
  return new Intl.DateTimeFormat(intlLocale(locale), {
    year: "numeric",
    month: locale === "en" ? "short" : "long",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  }).format(d);
}

const LUNAR_MONTHS = ["正", "二", "三", "四", "五", "六", "七", "八", "九", "十", "冬", "腊"];
const LUNAR_TENS = ["初", "十", "廿", "三"];
const DIGITS = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

function lunarDay(day: number): string {
  if (day === 10) return "初十";
  if (day === 20) return "二十";
  if (day === 30) return "三十";
  return LUNAR_TENS[Math.floor(day / 10)] + DIGITS[day % 10];
}

/**
 * A stored date (`1990-04-15`, `--04-15`, `1990-L04-15`) without its year,
 * as birthdays are shown in lists: 4月15日 / 15 Apr / 农历四月十五.
 */
export function formatMonthDay(text: string | null | undefined, calendar: string, locale: Locale): string {
  if (!text) return "";
  const m = /(?:^|-)(L?)(\d{2})-(\d{2})$/.exec(text);
  if (!m) return text;
  const leap = m[1] === "L";
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (calendar === "lunar") {
    if (locale === "en") return `Lunar ${leap ? "leap " : ""}${month}/${day}`;
    const prefix = locale === "zh-Hant" ? "農曆" : "农历";
    const leapWord = locale === "zh-Hant" ? "閏" : "闰";
    const monthName = locale === "zh-Hant" && month === 12 ? "臘" : LUNAR_MONTHS[month - 1];
    return `${prefix}${leap ? leapWord : ""}${monthName}月${lunarDay(day)}`;
  }
  return new Intl.DateTimeFormat(intlLocale(locale), { month: locale === "en" ? "short" : "long", day: "numeric" }).format(
    new Date(2000, month - 1, day),
  );
}

/** A full date with its year when it has one, in its own calendar. */
export function formatOccasion(text: string | null | undefined, calendar: string, locale: Locale): string {
  if (!text) return "";
  const year = /^(\d{4})-/.exec(text)?.[1];
  if (calendar !== "lunar" && year && !text.includes("L")) return formatDate(text, locale);
  const md = formatMonthDay(text, calendar, locale);
  if (!year) return md;
  return locale === "en" ? `${md} ${year}` : `${year}年${md}`;
}

/** 138 0013 8000 for mainland mobiles; others as stored. */
export function formatPhone(phone: string | null | undefined): string {
  if (!phone) return "";
  if (/^1\d{10}$/.test(phone)) return `${phone.slice(0, 3)} ${phone.slice(3, 7)} ${phone.slice(7)}`;
  return phone;
}

export function formatMoney(cents: number | null | undefined, currency: string, locale: Locale): string {
  if (cents === null || cents === undefined) return "";
  return new Intl.NumberFormat(intlLocale(locale), { style: "currency", currency, maximumFractionDigits: 0 }).format(
    cents / 100,
  );
}
