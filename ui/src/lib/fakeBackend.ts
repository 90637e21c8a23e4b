// An in-memory stand-in for the book, for UI tests and for running the UI in
// a plain browser. It holds canned data and no rules: it keeps what it is
// given and answers what a test set up. It never validates, ranks, masks,
// folds or guards; what the core decides (a refused phone number, a customer
// held back, the tags offered for "pearl") a test states as the core's
// answer (`refuse`, `suggestions`, `audiences`, `tagSuggestions` …). The
// rules themselves are tested in Rust and, through the real window, by the
// end-to-end tests.
import type { Backend } from "./backend";
import { CommandFailure } from "./backend";
import type {
  Audience, CommandError, Composed, Conflict, ContentItem, Customer, CustomerRecord, Draft, GuardSettings, Note, QuarantinedChange,
  QueueEntry, Reminder, ReminderSettings, ScriptPreview, Settings, SimilarCustomer, Suggestions, SyncView, Tag, TagRef, TagSuggestion,
  TalkScript,
} from "./bindings";

const now = () => new Date().toISOString();
let seq = 0;
const newId = () => `fake-${++seq}`;

function blankCustomer(id: string, name: string): Customer {
  return {
    id, name, gender: null, phone: null, phone2: null, wechat: null, email: null, birthday: null,
    birthday_calendar: "solar", anniversary: null, anniversary_calendar: "solar", language: null,
    ring_size: null, wrist_size: null, clothing_size: null, shoe_size: null, preferred_metals: [],
    preferred_stones: [], preferred_styles: [], preferred_colors: [], budget: null, stage: null,
    consent_marketing: false, consent_at: null, consent_source: null, do_not_contact: false, owner: null,
    store: null, created_at: now(), merged_into: null, erased_at: null, tags: [],
  };
}

function fail(code: string, message: string): never {
  throw new CommandFailure({ code, message, field: null, problem: null, duplicates: [] });
}

export class FakeBackend {
  records = new Map<string, CustomerRecord>();
  vocabulary: Tag[] = [
    { id: "t-pearl", name: "珍珠", group: "preference", synonyms: ["pearl", "pearls"], customers: 0 },
    { id: "t-couple", name: "情侣", group: "life_stage", synonyms: ["couple", "情侶"], customers: 0 },
    { id: "t-rose", name: "玫瑰金", group: "preference", synonyms: ["rose gold"], customers: 0 },
  ];
  settings: Settings = { associate: null, store: null, language: null, server_url: null };
  calls: string[] = [];
  batches = new Map<string, string[]>();
  /** Sync as a fake server would see it: sign in with password "password1". */
  sync: SyncView = {
    status: { server: null, username: null, store: null, signed_in: false, pending: 0, last_success_at: null, last_error: null, open_conflicts: 0, quarantined: 0 },
    activity: { syncing: false, online: null, retry_in_secs: null },
  };
  conflictList: Conflict[] = [];
  /** Changes sync kept aside, as the core lists them. */
  quarantineList: QuarantinedChange[] = [];
  /** HQ content, the daily queue and drafts, as the core would return them. */
  content: ContentItem[] = [
    {
      id: "p-rose", kind: "product", title: "玫瑰金项链", body: null, tags: ["玫瑰金", "项链"], category: "项链",
      price_cents: 328000, currency: "CNY", language: "zh-Hans", valid_from: "2026-11-20", valid_until: null,
      created_at: "2026-11-20T00:00:00Z", translations: { en: { title: "Rose gold necklace", body: null } }, skus: ["RG-N-3280"],
    },
  ];
  queue: QueueEntry[] = [];
  drafts: Draft[] = [];
  guard: GuardSettings = { per_week: 1, per_month: 4, quiet_from: "21:00", quiet_until: "09:00" };
  reminderPrefs: ReminderSettings = { enabled: true, at: "09:30" };
  /** What the next reminder check hands out (once), and what was shown on the desktop. */
  dueReminders: Reminder[] = [];
  notified: { title: string; body: string }[] = [];
  /** Links opened in other apps (sms:, mailto:) and text copied, in order. */
  opened: string[] = [];
  sentChannels: string[] = [];
  copied: string[] = [];
  /** HQ's defaults for two purposes in every language; saving adds the book's own. */
  scripts: TalkScript[] = ["recommend", "birthday"].flatMap((purpose) =>
    (["zh-Hans", "zh-Hant", "en"] as const).map((language) => ({
      id: null, source: "builtin", purpose, language, name: `HQ · ${purpose}`,
      body: language === "en" ? "Hi {name}, it's {associate}. {product}" : "{name}您好，我是{associate}。{product}",
    })),
  );
  /** Milliseconds each call waits, to let tests see loading states. */
  delay = 0;
  /** Commands that fail, with the error the core would give, until deleted. */
  refusals = new Map<string, CommandError>();
  /** The core's suggestions per customer; by default every content item, nobody held back. */
  suggestions = new Map<string, Suggestions>();
  /** Who should hear about each item; by default every customer, each with a draft. */
  audiences = new Map<string, Audience>();
  /** What the tag picker offers, whatever is typed. */
  tagSuggestions: TagSuggestion[] = [];
  /** Who a new customer may be ("this looks like …"), whatever is typed. */
  similar: SimilarCustomer[] = [];
  /** The talk-script preview per body; by default the body as it is. */
  scriptPreviews = new Map<string, ScriptPreview>();
  /** The masked phone a list row shows, per customer. */
  maskedPhones = new Map<string, string>();

  /** From now on `command` fails as the core would refuse it. */
  refuse(command: string, error: Partial<CommandError> & { code: string; message: string }) {
    this.refusals.set(command, { field: null, problem: null, duplicates: [], ...error });
  }

  constructor(names: string[] = []) {
    for (const n of names) this.#add([{ field: "name", value: n }]);
  }

  #add(fields: { field: string; value: string }[]): string {
    const id = newId();
    const c = blankCustomer(id, "");
    for (const f of fields) (c as Record<string, unknown>)[f.field] = f.value || null;
    this.records.set(id, { ...c, notes: [], purchases: [], touchpoints: [] });
    return id;
  }

  #get(id: string): CustomerRecord {
    const r = this.records.get(id);
    if (!r || r.erased_at || r.merged_into) fail("customer_not_found", `no customer ${id}`);
    return r;
  }

  #live(): CustomerRecord[] {
    return [...this.records.values()].filter((r) => !r.erased_at && !r.merged_into);
  }

  api(): Backend {
    const wait = () => new Promise((res) => setTimeout(res, this.delay));
    const call = async <T>(name: string, f: () => T): Promise<T> => {
      this.calls.push(name);
      if (this.delay) await wait();
      const refusal = this.refusals.get(name);
      if (refusal) throw new CommandFailure(refusal);
      return f();
    };
    return {
      bookInfo: () => call("bookInfo", () => ({ path: null, customers: this.#live().length, schema_version: 1, settings: { ...this.settings } })),
      fieldChoices: () =>
        call("fieldChoices", () => ({
          genders: ["female", "male", "unknown"], stages: ["aware", "appeal", "ask", "act", "advocate"],
          budgets: ["entry", "mid", "premium", "luxury"], languages: ["zh-Hans", "zh-Hant", "en"], calendars: ["solar", "lunar"],
          channels: ["wecom", "wechat", "sms", "phone", "email", "store"], touchpoint_kinds: ["outreach", "service", "visit", "call", "purchase"],
          import_fields: ["name", "phone", "wechat", "email", "birthday", "tags", "note"],
        })),
      listCustomers: (query, offset, limit) =>
        call("listCustomers", () => {
          // Everyone, in the order added: searching and sorting are the core's.
          const all = this.#live();
          return {
            total: all.length, offset,
            rows: all.slice(offset, offset + limit).map((r) => ({
              id: r.id, name: r.name, gender: r.gender, phone_masked: this.maskedPhones.get(r.id) ?? null,
              stage: r.stage, owner: r.owner, tags: r.tags, last_contact: null, birthday: r.birthday?.slice(5) ?? null,
              birthday_calendar: "solar" as const, birthday_in_days: null, matched: query.text ? ("name" as const) : null,
            })),
          };
        }),
      listFacets: () => call("listFacets", () => ({ stages: [], owners: [], tag_groups: [] })),
      customerRecord: (id) => call("customerRecord", () => structuredClone(this.#get(id))),
      addCustomer: (fields) => call("addCustomer", () => this.#add(fields)),
      editCustomer: (id, fields) =>
        call("editCustomer", () => {
          const r = this.#get(id);
          for (const f of fields) (r as Record<string, unknown>)[f.field] = f.value || null;
          return structuredClone(r) as Customer;
        }),
      similarCustomers: () => call("similarCustomers", () => structuredClone(this.similar)),
      tagVocabulary: () => call("tagVocabulary", () => structuredClone(this.vocabulary)),
      suggestTags: () => call("suggestTags", () => structuredClone(this.tagSuggestions)),
      tagCustomer: (id, input) =>
        call("tagCustomer", () => {
          const r = this.#get(id);
          const name = input;
          let tag = this.vocabulary.find((t) => t.name === name);
          if (!tag) {
            tag = { id: newId(), name, group: "other", synonyms: [], customers: 0 };
            this.vocabulary.push(tag);
          }
          const ref: TagRef = { id: tag.id, name: tag.name, group: tag.group };
          if (!r.tags.some((t) => t.id === ref.id)) r.tags.push(ref);
          return ref;
        }),
      untagCustomer: (id, tag) =>
        call("untagCustomer", () => {
          const r = this.#get(id);
          const before = r.tags.length;
          r.tags = r.tags.filter((t) => t.name !== tag && t.id !== tag);
          return r.tags.length < before;
        }),
      addNote: (customerId, body) =>
        call("addNote", () => {
          const r = this.#get(customerId);
          const at = now();
          const note: Note = { id: newId(), customer_id: customerId, body, author: this.settings.associate, created_at: at, edited_at: null, revisions: [{ body, author: this.settings.associate, at }] };
          r.notes.unshift(note);
          return structuredClone(note);
        }),
      editNote: (noteId, body) =>
        call("editNote", () => {
          for (const r of this.records.values()) {
            const n = r.notes.find((x) => x.id === noteId);
            if (n) {
              n.body = body;
              n.edited_at = now();
              n.revisions.push({ body: n.body, author: this.settings.associate, at: n.edited_at });
              return structuredClone(n);
            }
          }
          return fail("note_not_found", `no note ${noteId}`);
        }),
      mergeCustomers: (keep, other) =>
        call("mergeCustomers", () => {
          const k = this.#get(keep);
          this.#get(other).merged_into = keep;
          return structuredClone(k) as Customer;
        }),
      eraseCustomer: (id) =>
        call("eraseCustomer", () => {
          const r = this.#get(id);
          r.erased_at = now();
          r.name = "";
          return null;
        }),
      exportCustomers: (customerId) => call("exportCustomers", () => (customerId ? 1 : this.#live().length)),
      importCustomers: (_path, options, onProgress) =>
        call("importCustomers", () => {
          const report = {
            kind: "customers", encoding: "UTF-8", dry_run: options.dry_run, applied: !options.dry_run, rows: 2, created: 2, merged: 0,
            already_present: 0, rejected: 0,
            columns: [{ header: "姓名", field: "name" as string | null }, { header: "手机", field: "phone" as string | null }],
            merges: [], rejections: [], created_ids: [] as string[], preview: [["导入甲", "13800001111"], ["导入乙", "13800002222"]],
            batch_id: null as string | null,
          };
          if (options.columns) report.columns = report.columns.map((c, i) => ({ ...c, field: options.columns?.[i] ?? null }));
          if (!options.dry_run) {
            report.created_ids = [this.#add([{ field: "name", value: "导入甲" }]), this.#add([{ field: "name", value: "导入乙" }])];
            report.created_ids.forEach((_, i) => onProgress?.({ done: i + 1, total: report.created_ids.length }));
            report.batch_id = `batch-${report.created_ids[0]}`;
            this.batches.set(report.batch_id, report.created_ids);
          }
          return report;
        }),
      importBatches: () => call("importBatches", () => []),
      undoImport: (batchId) =>
        call("undoImport", () => {
          const ids = this.batches.get(batchId) ?? fail("invalid_input", `no import ${batchId}`);
          for (const id of ids) this.#get(id).erased_at = now();
          this.batches.delete(batchId);
          return { customers_removed: ids.length, fields_cleared: 0, fields_kept: 0, tags_removed: 0, notes_removed: 0 };
        }),
      updateSettings: (s) => call("updateSettings", () => (this.settings = { ...s })),
      generateDemo: (count) =>
        call("generateDemo", () => {
          for (let i = 0; i < count; i++) this.#add([{ field: "name", value: `示例${i + 1}` }]);
          return { customers: count, tags: 0, notes: 0, purchases: 0, touchpoints: 0 };
        }),
      syncStatus: () => call("syncStatus", () => structuredClone(this.sync)),
      signIn: (server, username) =>
        call("signIn", () => {
          this.sync.status = { ...this.sync.status, server, username, store: "静安嘉里", signed_in: true };
          return structuredClone(this.sync);
        }),
      signOut: () =>
        call("signOut", () => {
          this.sync.status = { ...this.sync.status, username: null, store: null, signed_in: false };
          return structuredClone(this.sync);
        }),
      syncNow: () =>
        call("syncNow", () => {
          const pushed = this.sync.status.pending;
          this.sync.status = { ...this.sync.status, pending: 0, last_success_at: now(), last_error: null, open_conflicts: this.conflictList.length, quarantined: this.quarantineList.length };
          return { pushed, pulled: 0, continued_as_new_device: false };
        }),
      conflicts: () => call("conflicts", () => structuredClone(this.conflictList)),
      restoreConflict: (id) =>
        call("restoreConflict", () => {
          this.conflictList = this.conflictList.filter((c) => c.id !== id);
          this.sync.status.open_conflicts = this.conflictList.length;
          return null;
        }),
      dismissConflict: (id) =>
        call("dismissConflict", () => {
          this.conflictList = this.conflictList.filter((c) => c.id !== id);
          this.sync.status.open_conflicts = this.conflictList.length;
          return null;
        }),
      quarantinedChanges: () => call("quarantinedChanges", () => structuredClone(this.quarantineList)),
      dismissQuarantined: (id) =>
        call("dismissQuarantined", () => {
          this.quarantineList = this.quarantineList.filter((q) => q.id !== id);
          this.sync.status.quarantined = this.quarantineList.length;
          return null;
        }),
      todayQueue: () => call("todayQueue", () => structuredClone(this.queue)),
      // Canned: the core answers this from the book; here, whether a queue was planted.
      someoneToReach: () => call("someoneToReach", () => this.queue.length > 0),
      markQueueEntry: (key) =>
        call("markQueueEntry", () => {
          this.queue = this.queue.filter((e) => e.key !== key);
          return null;
        }),
      suggest: (customerId) =>
        call(
          "suggest",
          (): Suggestions =>
            structuredClone(this.suggestions.get(customerId)) ?? {
              customer_id: customerId,
              items: this.content.map((c) => ({
                content_id: c.id, title: c.title, kind: c.kind, price_cents: c.price_cents, score: 5,
                reasons: ["喜欢玫瑰金"], reason_codes: [{ code: "likes" as const, label: "玫瑰金" }],
              })),
              pressure: { last_7_days: 0, last_30_days: 0, last_contact: null },
              held_back: null,
            },
        ),
      contentItems: () => call("contentItems", () => structuredClone(this.content)),
      audience: (contentId) =>
        call(
          "audience",
          (): Audience =>
            structuredClone(this.audiences.get(contentId)) ?? {
              content_id: contentId,
              title: this.content.find((c) => c.id === contentId)?.title ?? contentId,
              entries: this.#live().map((r) => ({
                customer_id: r.id, name: r.name, score: 5, reasons: ["喜欢玫瑰金"],
                draft: `${r.name}您好，我是小林。`, draft_language: "zh-Hans",
              })),
              held_back: 0,
            },
        ),
      composeDraft: (customerId, contentId) =>
        call("composeDraft", (): Composed => ({
          customer_id: customerId, content_id: contentId, language: "zh-Hans",
          body: `${this.#get(customerId).name}您好，我是小林。`, reasons: ["喜欢玫瑰金"],
        })),
      saveDraft: (d) =>
        call("saveDraft", () => {
          const draft: Draft = {
            id: newId(), customer_id: d.customer_id, content_id: d.content_id, language: d.language, body: d.body,
            reasons: d.reasons, status: "proposed", dismiss_reason: null, created_at: now(),
          };
          this.drafts.push(draft);
          return structuredClone(draft);
        }),
      editDraft: (id, body) =>
        call("editDraft", () => {
          const d = this.drafts.find((x) => x.id === id) ?? fail("draft_not_found", `no draft ${id}`);
          Object.assign(d, { body, status: "edited" });
          return structuredClone(d);
        }),
      sendDraft: (id, channel) =>
        call("sendDraft", () => {
          const d = this.drafts.find((x) => x.id === id) ?? fail("draft_not_found", `no draft ${id}`);
          d.status = "sent";
          this.sentChannels.push(channel);
          return newId();
        }),
      dismissDraft: (id, reason) =>
        call("dismissDraft", () => {
          const d = this.drafts.find((x) => x.id === id) ?? fail("draft_not_found", `no draft ${id}`);
          Object.assign(d, { status: "dismissed", dismiss_reason: reason });
          return structuredClone(d);
        }),
      customerDrafts: (customerId) =>
        call("customerDrafts", () => structuredClone(this.drafts.filter((d) => d.customer_id === customerId))),
      guardSettings: () => call("guardSettings", () => ({ ...this.guard })),
      updateGuardSettings: (g) => call("updateGuardSettings", () => (this.guard = { ...g })),
      previewTalkScript: (body) =>
        call("previewTalkScript", () => structuredClone(this.scriptPreviews.get(body)) ?? { text: body, unknown: null }),
      talkScripts: () => call("talkScripts", () => structuredClone(this.scripts)),
      saveTalkScript: (language, purpose, name, body) =>
        call("saveTalkScript", () => {
          const s = this.scripts.find((x) => x.purpose === purpose && x.language === language) ?? fail("invalid_field", "purpose");
          Object.assign(s, { id: s.id ?? newId(), source: "own", name, body });
          return s.id as string;
        }),
      resetTalkScript: (purpose, language) =>
        call("resetTalkScript", () => {
          const s = this.scripts.find((x) => x.purpose === purpose && x.language === language);
          if (s?.source !== "own") return false;
          const body = language === "en" ? "Hi {name}, it's {associate}. {product}" : "{name}您好，我是{associate}。{product}";
          Object.assign(s, { id: null, source: "builtin", name: `HQ · ${purpose}`, body });
          return true;
        }),
      reminderSettings: () => call("reminderSettings", () => ({ ...this.reminderPrefs })),
      updateReminderSettings: (r) =>
        call("updateReminderSettings", () => (this.reminderPrefs = { ...r })),
      takeDueReminders: () =>
        call("takeDueReminders", () => {
          const due = this.dueReminders;
          this.dueReminders = [];
          return due;
        }),
      notify: async (title, body) => {
        this.notified.push({ title, body });
        return true;
      },
      pickCsv: async () => "/tmp/customers.csv",
      pickSavePath: async (name) => `/tmp/${name}`,
      copyText: async (text) => {
        this.copied.push(text);
      },
      openUrl: async (url) => {
        this.opened.push(url);
      },
    };
  }
}
