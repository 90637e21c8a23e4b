// Talk-script editing without the book: the placeholders, a preview with
// sample values in the script's language, and where a typo hides.
import type { TalkScript } from "../lib/bindings";

export const PLACEHOLDERS = ["{name}", "{product}", "{reason}", "{occasion}", "{associate}"] as const;

const SAMPLES: Record<string, Record<string, string>> = {
  "zh-Hans": { "{name}": "王女士", "{product}": "玫瑰金项链", "{reason}": "记得您喜欢玫瑰金", "{occasion}": "您的生日" },
  "zh-Hant": { "{name}": "王女士", "{product}": "玫瑰金項鍊", "{reason}": "記得您喜歡玫瑰金", "{occasion}": "您的生日" },
  en: { "{name}": "Emma", "{product}": "rose gold necklace", "{reason}": "I remember you like rose gold", "{occasion}": "birthday" },
};

/** {occasion} differs by purpose: a festival, an anniversary, a follow-up's note. */
const OCCASIONS: Record<string, Record<string, string>> = {
  anniversary: { "zh-Hans": "结婚纪念日", "zh-Hant": "結婚紀念日", en: "wedding anniversary" },
  festival: { "zh-Hans": "七夕", "zh-Hant": "七夕", en: "Qixi" },
  followup: { "zh-Hans": "您改好尺寸的戒指到了", "zh-Hant": "您改好尺寸的戒指到了", en: "the ring you had resized is ready" },
};

/** The script as a customer would read it, with sample values. */
export function preview(body: string, language: string, associate: string, purpose = "recommend"): string {
  const occasion = OCCASIONS[purpose]?.[language];
  const values = {
    ...(SAMPLES[language] ?? SAMPLES["zh-Hans"]),
    ...(occasion ? { "{occasion}": occasion } : {}),
    "{associate}": associate,
  };
  return body.replace(/\{\w+\}/g, (ph) => values[ph as keyof typeof values] ?? ph);
}

/** The first `{…}` that is not a placeholder, as the core would refuse it. */
export function unknownPlaceholder(body: string): string | null {
  for (const m of body.matchAll(/\{[^}]*\}?/g)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(m[0])) return m[0];
  }
  return null;
}

/** Inserts a placeholder at the cursor; returns the text and the new cursor. */
export function insertAt(text: string, start: number, end: number, ph: string): { text: string; cursor: number } {
  return { text: text.slice(0, start) + ph + text.slice(end), cursor: start + ph.length };
}

/** Scripts of one language, in the order the core lists purposes. */
export function forLanguage(all: TalkScript[], language: string): TalkScript[] {
  return all.filter((s) => s.language === language);
}
