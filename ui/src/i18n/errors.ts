// What went wrong, in the associate's language. The core's messages are
// English (for logs and the CLI); its `code`, `field` and `problem` say what
// happened, so the words are chosen here.
import { CommandFailure } from "../lib/backend";
import { en, type MessageKey } from "./en";
import { t } from "./index.svelte";

const known = (key: string): key is MessageKey => key in en;

/** Fields that share one explanation of their format. */
const FORMAT_OF: Record<string, string> = {
  phone2: "phone",
  birthday: "date",
  anniversary: "date",
  purchased_on: "date",
};

/** The field's label ("手机号"), or its name when the UI has no label for it. */
function fieldLabel(field: string): string {
  const key = `field.${field}`;
  return known(key) ? t(key) : field;
}

function invalidFieldText(field: string, problem: CommandFailure["detail"]["problem"]): string {
  // A sentence written for the field says what it needs, whatever is wrong.
  const forField = `error.field.${field}`;
  if (known(forField)) return t(forField);
  const kind = problem?.kind ?? "malformed";
  const specific = `error.${kind}.${FORMAT_OF[field] ?? field}`;
  if (known(specific)) return t(specific);
  if (problem?.kind === "missing") return t("error.missing", { field: fieldLabel(field) });
  if (problem?.kind === "too_long") return t("error.tooLong", { field: fieldLabel(field), n: problem.max });
  return t("error.malformed", { field: fieldLabel(field) });
}

/** A sentence for the associate about `e`, whatever threw it. */
export function errorText(e: unknown): string {
  if (!(e instanceof CommandFailure)) {
    return t("error.generic", { message: e instanceof Error ? e.message : String(e) });
  }
  const { code, field, problem } = e.detail;
  if (code === "invalid_field" && field) return invalidFieldText(field, problem);
  const byCode = `error.code.${code}`;
  if (known(byCode)) return t(byCode, { message: e.message });
  // Held-back sends come worded in the book's language already; anything
  // else is shown as the core wrote it.
  return e.message;
}
