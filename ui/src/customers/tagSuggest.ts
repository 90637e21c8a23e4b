// Tag autocomplete: names and synonyms, case- and width-insensitive, so that
// typing "pearl" offers 珍珠 and says why.
import type { Tag } from "../lib/bindings";

export interface TagSuggestion {
  tag: Tag;
  /** The synonym that matched, when the name itself did not. */
  via: string | null;
}

function fold(s: string): string {
  return s.normalize("NFKC").toLowerCase().trim();
}

export function suggestTags(vocabulary: Tag[], typed: string, exclude: string[] = [], limit = 8): TagSuggestion[] {
  const q = fold(typed);
  if (!q) return [];
  const scored: { s: TagSuggestion; rank: number }[] = [];
  for (const tag of vocabulary) {
    if (exclude.includes(tag.id)) continue;
    const name = fold(tag.name);
    let rank = name === q ? 0 : name.startsWith(q) ? 1 : name.includes(q) ? 3 : -1;
    let via: string | null = null;
    if (rank < 0 || rank > 1) {
      for (const syn of tag.synonyms) {
        const f = fold(syn);
        const r = f === q ? 0 : f.startsWith(q) ? 2 : -1;
        if (r >= 0 && (rank < 0 || r < rank)) {
          rank = r;
          via = syn;
        }
      }
    }
    if (rank >= 0) scored.push({ s: { tag, via }, rank });
  }
  scored.sort((a, b) => a.rank - b.rank || b.s.tag.customers - a.s.tag.customers || a.s.tag.name.localeCompare(b.s.tag.name));
  return scored.slice(0, limit).map((x) => x.s);
}
