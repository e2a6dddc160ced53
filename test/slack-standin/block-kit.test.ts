import { describe, expect, it } from "vitest";
import { checkBlocks, checkMessage, checkOptionsResponse, checkView, type BlockKitProblem } from "../../src/slack-standin/block-kit.js";

// The limits below are written out from Slack's reference, not read from BlockKitLimits: a test that
// borrowed the numbers it checks could not catch a wrong one.

type Overrides = Record<string, unknown>;

const plain = (text: string, overrides: Overrides = {}) => ({ type: "plain_text", text, ...overrides });
const mrkdwn = (text: string, overrides: Overrides = {}) => ({ type: "mrkdwn", text, ...overrides });
const chars = (count: number) => "x".repeat(count);

const option = (value = "a", overrides: Overrides = {}) => ({ text: plain(`Option ${value}`), value, ...overrides });
const options = (count: number) => Array.from({ length: count }, (_, i) => option(`v${i}`));
const optionGroup = (overrides: Overrides = {}) => ({ label: plain("Group"), options: [option()], ...overrides });
const confirm = (overrides: Overrides = {}) => ({ title: plain("Send it?"), text: mrkdwn("Sends *now*."), confirm: plain("Send"), deny: plain("Wait"), ...overrides });

/** The smallest element Slack accepts, by type. */
const minimalElements: Record<string, Overrides> = {
  button: { type: "button", text: plain("Approve"), action_id: "approve" },
  checkboxes: { type: "checkboxes", action_id: "checkboxes", options: [option()] },
  radio_buttons: { type: "radio_buttons", action_id: "radio", options: [option()] },
  overflow: { type: "overflow", action_id: "overflow", options: options(2) },
  datepicker: { type: "datepicker", action_id: "date" },
  timepicker: { type: "timepicker", action_id: "time" },
  datetimepicker: { type: "datetimepicker", action_id: "datetime" },
  static_select: { type: "static_select", action_id: "static", options: [option()] },
  multi_static_select: { type: "multi_static_select", action_id: "multi_static", options: [option()] },
  external_select: { type: "external_select", action_id: "external" },
  multi_external_select: { type: "multi_external_select", action_id: "multi_external" },
  users_select: { type: "users_select", action_id: "users" },
  multi_users_select: { type: "multi_users_select", action_id: "multi_users" },
  conversations_select: { type: "conversations_select", action_id: "conversations" },
  multi_conversations_select: { type: "multi_conversations_select", action_id: "multi_conversations" },
  channels_select: { type: "channels_select", action_id: "channels" },
  multi_channels_select: { type: "multi_channels_select", action_id: "multi_channels" },
  plain_text_input: { type: "plain_text_input", action_id: "text" },
  email_text_input: { type: "email_text_input", action_id: "email" },
  url_text_input: { type: "url_text_input", action_id: "url" },
  number_input: { type: "number_input", action_id: "number", is_decimal_allowed: false },
  file_input: { type: "file_input", action_id: "file" },
  rich_text_input: { type: "rich_text_input", action_id: "rich" },
  image: { type: "image", image_url: "https://example.com/logo.png", alt_text: "logo" },
};

function element(type: string, overrides: Overrides = {}) {
  const base = minimalElements[type];
  if (!base) throw new Error(`no minimal element for ${type}`);
  return { ...base, ...overrides };
}
const button = (overrides: Overrides = {}) => element("button", overrides);
const buttons = (count: number) => Array.from({ length: count }, (_, i) => button({ action_id: `button_${i}` }));

const section = (overrides: Overrides = {}) => ({ type: "section", text: mrkdwn("Pending sending"), ...overrides });
const sections = (count: number) => Array.from({ length: count }, () => section());
const header = (overrides: Overrides = {}) => ({ type: "header", text: plain("Newsletter"), ...overrides });
const divider = (overrides: Overrides = {}) => ({ type: "divider", ...overrides });
const context = (elements: unknown[]) => ({ type: "context", elements });
const actions = (elements: unknown[], overrides: Overrides = {}) => ({ type: "actions", elements, ...overrides });
const input = (overrides: Overrides = {}) => ({ type: "input", label: plain("Reason"), element: element("plain_text_input"), ...overrides });
const image = (overrides: Overrides = {}) => ({ type: "image", image_url: "https://example.com/chart.png", alt_text: "chart", ...overrides });
const modal = (overrides: Overrides = {}) => ({ type: "modal", title: plain("Approve"), submit: plain("Send"), blocks: [section()], ...overrides });
const home = (overrides: Overrides = {}) => ({ type: "home", blocks: [section()], ...overrides });

const inMessage = (...blocks: unknown[]) => checkBlocks(blocks, "message");
/** Problems point at /blocks/0/accessory. */
const asAccessory = (accessory: unknown) => inMessage(section({ accessory }));
/** Problems point at /blocks/0/elements/N. */
const inActions = (...elements: unknown[]) => inMessage(actions(elements));
/** Problems point at /view/blocks/0/element. */
const asInput = (element: unknown) => checkView(modal({ blocks: [input({ element })] }));
const refused = (pointer: string, message: string): BlockKitProblem[] => [{ pointer, message }];

interface CharacterLimit {
  rule: string;
  limit: number;
  pointer: string;
  check: (text: string) => BlockKitProblem[];
}

const characterLimits: CharacterLimit[] = [
  { rule: "a block_id", limit: 255, pointer: "/blocks/0/block_id", check: (s) => inMessage(section({ block_id: s })) },
  { rule: "a section's text", limit: 3000, pointer: "/blocks/0/text/text", check: (s) => inMessage(section({ text: mrkdwn(s) })) },
  { rule: "a section field", limit: 2000, pointer: "/blocks/0/fields/1/text", check: (s) => inMessage(section({ text: undefined, fields: [mrkdwn("To"), plain(s)] })) },
  { rule: "a header's text", limit: 150, pointer: "/blocks/0/text/text", check: (s) => inMessage(header({ text: plain(s) })) },
  { rule: "a context text", limit: 3000, pointer: "/blocks/0/elements/0/text", check: (s) => inMessage(context([mrkdwn(s)])) },
  { rule: "an input label", limit: 2000, pointer: "/view/blocks/0/label/text", check: (s) => checkView(modal({ blocks: [input({ label: plain(s) })] })) },
  { rule: "an input hint", limit: 2000, pointer: "/view/blocks/0/hint/text", check: (s) => checkView(modal({ blocks: [input({ hint: plain(s) })] })) },
  { rule: "an image block's image_url", limit: 3000, pointer: "/blocks/0/image_url", check: (s) => inMessage(image({ image_url: s })) },
  { rule: "an image block's alt_text", limit: 2000, pointer: "/blocks/0/alt_text", check: (s) => inMessage(image({ alt_text: s })) },
  { rule: "an image block's title", limit: 2000, pointer: "/blocks/0/title/text", check: (s) => inMessage(image({ title: plain(s) })) },
  { rule: "an action_id", limit: 255, pointer: "/blocks/0/elements/0/action_id", check: (s) => inActions(button({ action_id: s })) },
  { rule: "a button's text", limit: 75, pointer: "/blocks/0/elements/0/text/text", check: (s) => inActions(button({ text: plain(s) })) },
  { rule: "a button's value", limit: 2000, pointer: "/blocks/0/elements/0/value", check: (s) => inActions(button({ value: s })) },
  { rule: "a button's url", limit: 3000, pointer: "/blocks/0/elements/0/url", check: (s) => inActions(button({ url: s })) },
  { rule: "a button's accessibility_label", limit: 75, pointer: "/blocks/0/elements/0/accessibility_label", check: (s) => inActions(button({ accessibility_label: s })) },
  { rule: "a select's placeholder", limit: 150, pointer: "/blocks/0/accessory/placeholder/text", check: (s) => asAccessory(element("users_select", { placeholder: plain(s) })) },
  { rule: "a text input's placeholder", limit: 150, pointer: "/view/blocks/0/element/placeholder/text", check: (s) => asInput(element("plain_text_input", { placeholder: plain(s) })) },
  { rule: "an option's text", limit: 75, pointer: "/blocks/0/accessory/options/0/text/text", check: (s) => asAccessory(element("static_select", { options: [option("a", { text: plain(s) })] })) },
  { rule: "an option's value", limit: 150, pointer: "/blocks/0/accessory/options/0/value", check: (s) => asAccessory(element("static_select", { options: [option("a", { value: s })] })) },
  { rule: "an option's description", limit: 75, pointer: "/blocks/0/accessory/options/0/description/text", check: (s) => asAccessory(element("radio_buttons", { options: [option("a", { description: mrkdwn(s) })] })) },
  { rule: "an overflow option's url", limit: 3000, pointer: "/blocks/0/accessory/options/1/url", check: (s) => asAccessory(element("overflow", { options: [option("a"), option("b", { url: s })] })) },
  { rule: "an option group's label", limit: 75, pointer: "/blocks/0/accessory/option_groups/0/label/text", check: (s) => asAccessory(element("static_select", { options: undefined, option_groups: [optionGroup({ label: plain(s) })] })) },
  { rule: "a confirm's title", limit: 100, pointer: "/blocks/0/elements/0/confirm/title/text", check: (s) => inActions(button({ confirm: confirm({ title: plain(s) }) })) },
  { rule: "a confirm's text", limit: 300, pointer: "/blocks/0/elements/0/confirm/text/text", check: (s) => inActions(button({ confirm: confirm({ text: mrkdwn(s) }) })) },
  { rule: "a confirm's confirm button", limit: 30, pointer: "/blocks/0/elements/0/confirm/confirm/text", check: (s) => inActions(button({ confirm: confirm({ confirm: plain(s) }) })) },
  { rule: "a confirm's deny button", limit: 30, pointer: "/blocks/0/elements/0/confirm/deny/text", check: (s) => inActions(button({ confirm: confirm({ deny: plain(s) }) })) },
  { rule: "a modal's title", limit: 24, pointer: "/view/title/text", check: (s) => checkView(modal({ title: plain(s) })) },
  { rule: "a modal's submit", limit: 24, pointer: "/view/submit/text", check: (s) => checkView(modal({ submit: plain(s) })) },
  { rule: "a modal's close", limit: 24, pointer: "/view/close/text", check: (s) => checkView(modal({ close: plain(s) })) },
  { rule: "a modal's private_metadata", limit: 3000, pointer: "/view/private_metadata", check: (s) => checkView(modal({ private_metadata: s })) },
  { rule: "a modal's callback_id", limit: 255, pointer: "/view/callback_id", check: (s) => checkView(modal({ callback_id: s })) },
  { rule: "a modal's external_id", limit: 255, pointer: "/view/external_id", check: (s) => checkView(modal({ external_id: s })) },
  { rule: "a Home tab's private_metadata", limit: 3000, pointer: "/view/private_metadata", check: (s) => checkView(home({ private_metadata: s })) },
  { rule: "a Home tab's callback_id", limit: 255, pointer: "/view/callback_id", check: (s) => checkView(home({ callback_id: s })) },
  { rule: "a Home tab's external_id", limit: 255, pointer: "/view/external_id", check: (s) => checkView(home({ external_id: s })) },
  { rule: "a message's top-level text", limit: 40_000, pointer: "/text", check: (s) => checkMessage({ text: s }).problems },
];

describe.each(characterLimits)("$rule: at most $limit characters", ({ limit, pointer, check }) => {
  it("fits at the limit", () => {
    expect(check(chars(limit))).toEqual([]);
  });

  it("is refused one character over, at its pointer", () => {
    expect(check(chars(limit + 1))).toEqual(refused(pointer, `must be less than ${limit + 1} characters`));
  });
});

interface ItemLimit {
  rule: string;
  max: number;
  pointer: string;
  check: (count: number) => BlockKitProblem[];
}

const itemLimits: ItemLimit[] = [
  { rule: "blocks in a message", max: 50, pointer: "/blocks", check: (n) => checkBlocks(sections(n), "message") },
  { rule: "blocks in a modal", max: 100, pointer: "/view/blocks", check: (n) => checkView(modal({ blocks: sections(n) })) },
  { rule: "blocks in a Home tab", max: 100, pointer: "/view/blocks", check: (n) => checkView(home({ blocks: sections(n) })) },
  { rule: "fields in a section", max: 10, pointer: "/blocks/0/fields", check: (n) => inMessage(section({ fields: Array.from({ length: n }, () => mrkdwn("f")) })) },
  { rule: "elements in a context block", max: 10, pointer: "/blocks/0/elements", check: (n) => inMessage(context(Array.from({ length: n }, () => plain("c")))) },
  { rule: "elements in an actions block", max: 25, pointer: "/blocks/0/elements", check: (n) => inMessage(actions(buttons(n))) },
  { rule: "options in a static select", max: 100, pointer: "/blocks/0/accessory/options", check: (n) => asAccessory(element("static_select", { options: options(n) })) },
  { rule: "options in a multi static select", max: 100, pointer: "/blocks/0/accessory/options", check: (n) => asAccessory(element("multi_static_select", { options: options(n) })) },
  {
    rule: "option groups in a static select",
    max: 100,
    pointer: "/blocks/0/accessory/option_groups",
    check: (n) => asAccessory(element("static_select", { options: undefined, option_groups: Array.from({ length: n }, () => optionGroup()) })),
  },
  {
    rule: "options in an option group",
    max: 100,
    pointer: "/blocks/0/accessory/option_groups/0/options",
    check: (n) => asAccessory(element("static_select", { options: undefined, option_groups: [optionGroup({ options: options(n) })] })),
  },
  { rule: "options in an overflow menu", max: 5, pointer: "/blocks/0/accessory/options", check: (n) => asAccessory(element("overflow", { options: options(n) })) },
  { rule: "options in radio buttons", max: 10, pointer: "/blocks/0/accessory/options", check: (n) => asAccessory(element("radio_buttons", { options: options(n) })) },
  { rule: "options in checkboxes", max: 10, pointer: "/blocks/0/accessory/options", check: (n) => asAccessory(element("checkboxes", { options: options(n) })) },
  { rule: "options answering a block_suggestion", max: 100, pointer: "/options", check: (n) => checkOptionsResponse({ options: options(n) }) },
  { rule: "option groups answering a block_suggestion", max: 100, pointer: "/option_groups", check: (n) => checkOptionsResponse({ option_groups: Array.from({ length: n }, () => optionGroup()) }) },
];

describe.each(itemLimits)("$rule: at most $max", ({ max, pointer, check }) => {
  it("fits at the limit", () => {
    expect(check(max)).toEqual([]);
  });

  it("is refused one item over, at the array", () => {
    expect(check(max + 1)).toEqual(refused(pointer, `no more than ${max} items allowed`));
  });
});

interface MinimumItems {
  rule: string;
  min: number;
  pointer: string;
  check: (count: number) => BlockKitProblem[];
}

const minimumItems: MinimumItems[] = [
  { rule: "elements in a context block", min: 1, pointer: "/blocks/0/elements", check: (n) => inMessage(context(Array.from({ length: n }, () => plain("c")))) },
  { rule: "elements in an actions block", min: 1, pointer: "/blocks/0/elements", check: (n) => inMessage(actions(buttons(n))) },
  { rule: "options in an overflow menu", min: 2, pointer: "/blocks/0/accessory/options", check: (n) => asAccessory(element("overflow", { options: options(n) })) },
  { rule: "options in radio buttons", min: 1, pointer: "/blocks/0/accessory/options", check: (n) => asAccessory(element("radio_buttons", { options: options(n) })) },
  { rule: "options in checkboxes", min: 1, pointer: "/blocks/0/accessory/options", check: (n) => asAccessory(element("checkboxes", { options: options(n) })) },
];

describe.each(minimumItems)("$rule: at least $min", ({ min, pointer, check }) => {
  it("fits at the minimum", () => {
    expect(check(min)).toEqual([]);
  });

  it("is refused one item short, at the array", () => {
    expect(check(min - 1)).toEqual(refused(pointer, `at least ${min} ${min === 1 ? "item" : "items"} required`));
  });
});

interface PlainTextOnly {
  rule: string;
  pointer: string;
  check: (text: unknown) => BlockKitProblem[];
}

const plainTextOnly: PlainTextOnly[] = [
  { rule: "a header's text", pointer: "/blocks/0/text/type", check: (t) => inMessage(header({ text: t })) },
  { rule: "a button's text", pointer: "/blocks/0/elements/0/text/type", check: (t) => inActions(button({ text: t })) },
  { rule: "an overflow option's text", pointer: "/blocks/0/accessory/options/0/text/type", check: (t) => asAccessory(element("overflow", { options: [option("a", { text: t }), option("b")] })) },
  { rule: "a static select option's text", pointer: "/blocks/0/accessory/options/0/text/type", check: (t) => asAccessory(element("static_select", { options: [option("a", { text: t })] })) },
  { rule: "a multi select option's text", pointer: "/blocks/0/accessory/options/0/text/type", check: (t) => asAccessory(element("multi_static_select", { options: [option("a", { text: t })] })) },
  { rule: "an external select's initial option", pointer: "/blocks/0/accessory/initial_option/text/type", check: (t) => asAccessory(element("external_select", { initial_option: option("a", { text: t }) })) },
  { rule: "a select option's description", pointer: "/blocks/0/accessory/options/0/description/type", check: (t) => asAccessory(element("static_select", { options: [option("a", { description: t })] })) },
  { rule: "an option group's label", pointer: "/blocks/0/accessory/option_groups/0/label/type", check: (t) => asAccessory(element("static_select", { options: undefined, option_groups: [optionGroup({ label: t })] })) },
  { rule: "a placeholder", pointer: "/blocks/0/accessory/placeholder/type", check: (t) => asAccessory(element("datepicker", { placeholder: t })) },
  { rule: "an input label", pointer: "/view/blocks/0/label/type", check: (t) => checkView(modal({ blocks: [input({ label: t })] })) },
  { rule: "an input hint", pointer: "/view/blocks/0/hint/type", check: (t) => checkView(modal({ blocks: [input({ hint: t })] })) },
  { rule: "an image block's title", pointer: "/blocks/0/title/type", check: (t) => inMessage(image({ title: t })) },
  { rule: "a modal's title", pointer: "/view/title/type", check: (t) => checkView(modal({ title: t })) },
  { rule: "a modal's submit", pointer: "/view/submit/type", check: (t) => checkView(modal({ submit: t })) },
  { rule: "a modal's close", pointer: "/view/close/type", check: (t) => checkView(modal({ close: t })) },
  { rule: "a confirm's title", pointer: "/blocks/0/elements/0/confirm/title/type", check: (t) => inActions(button({ confirm: confirm({ title: t }) })) },
  { rule: "a confirm's confirm button", pointer: "/blocks/0/elements/0/confirm/confirm/type", check: (t) => inActions(button({ confirm: confirm({ confirm: t }) })) },
  { rule: "a confirm's deny button", pointer: "/blocks/0/elements/0/confirm/deny/type", check: (t) => inActions(button({ confirm: confirm({ deny: t }) })) },
  { rule: "an option in a block_suggestion answer", pointer: "/options/0/text/type", check: (t) => checkOptionsResponse({ options: [option("a", { text: t })] }) },
];

describe.each(plainTextOnly)("$rule is plain_text only", ({ pointer, check }) => {
  it("takes plain_text", () => {
    expect(check(plain("Fine"))).toEqual([]);
  });

  it("refuses mrkdwn", () => {
    expect(check(mrkdwn("*Bold*"))).toEqual(refused(pointer, "must be a plain_text text object"));
  });
});

describe("text objects", () => {
  it("may be mrkdwn where Slack says so: section text and fields, context, confirm text, radio and checkbox options", () => {
    expect(inMessage(section({ text: mrkdwn("*a*"), fields: [mrkdwn("*b*")] }), context([mrkdwn("_c_")]))).toEqual([]);
    expect(inActions(button({ confirm: confirm({ text: mrkdwn("*sure?*") }) }))).toEqual([]);
    const mrkdwnOption = option("a", { text: mrkdwn("*a*"), description: mrkdwn("_why_") });
    expect(asAccessory(element("radio_buttons", { options: [mrkdwnOption], initial_option: mrkdwnOption }))).toEqual([]);
    expect(asAccessory(element("checkboxes", { options: [mrkdwnOption], initial_options: [mrkdwnOption] }))).toEqual([]);
  });

  it("must have at least one character", () => {
    expect(inMessage(section({ text: mrkdwn("") }))).toEqual(refused("/blocks/0/text/text", "must be more than 0 characters"));
    expect(inMessage(section({ text: mrkdwn("a") }))).toEqual([]);
  });

  it("must have text", () => {
    expect(inMessage(section({ text: { type: "mrkdwn" } }))).toEqual(refused("/blocks/0/text", "missing required field: text"));
  });

  it("must have a string text", () => {
    expect(inMessage(section({ text: mrkdwn(42 as unknown as string) }))).toEqual(refused("/blocks/0/text/text", "must be a string"));
  });

  it("are plain_text or mrkdwn, nothing else", () => {
    expect(inMessage(section({ text: { type: "markdown", text: "a" } }))).toEqual(refused("/blocks/0/text/type", 'must be "plain_text" or "mrkdwn"'));
  });

  it("take emoji on plain_text only", () => {
    expect(inMessage(header({ text: plain("Hi :wave:", { emoji: true }) }))).toEqual([]);
    expect(inMessage(section({ text: mrkdwn("Hi :wave:", { emoji: true }) }))).toEqual(refused("/blocks/0/text", "invalid additional property: emoji"));
  });

  it("take verbatim on mrkdwn only", () => {
    expect(inMessage(section({ text: mrkdwn("<!here>", { verbatim: true }) }))).toEqual([]);
    expect(inMessage(header({ text: plain("Hi", { verbatim: true }) }))).toEqual(refused("/blocks/0/text", "invalid additional property: verbatim"));
  });

  it("refuse properties Slack does not define", () => {
    expect(inMessage(section({ text: mrkdwn("Hi", { bold: true }) }))).toEqual(refused("/blocks/0/text", "invalid additional property: bold"));
  });

  it("count characters, so an emoji is one", () => {
    expect(inMessage(section({ text: mrkdwn("📨".repeat(3000)) }))).toEqual([]);
    expect(inMessage(section({ text: mrkdwn("📨".repeat(3001)) }))).toEqual(refused("/blocks/0/text/text", "must be less than 3001 characters"));
  });
});

describe("blocks on every surface", () => {
  it("an empty list is fine for checkBlocks (the message's text rule is checkMessage's)", () => {
    expect(checkBlocks([], "message")).toEqual([]);
  });

  it("arrive as a JSON string from form-encoded calls", () => {
    expect(checkBlocks(JSON.stringify([section()]), "message")).toEqual([]);
    expect(checkBlocks(JSON.stringify([section({ text: mrkdwn(chars(3001)) })]), "message")).toEqual(refused("/blocks/0/text/text", "must be less than 3001 characters"));
  });

  it("a string that is not JSON is refused", () => {
    expect(checkBlocks("[{", "message")).toEqual(refused("/blocks", "must be a valid JSON array"));
  });

  it("must be an array", () => {
    expect(checkBlocks({ type: "section" }, "message")).toEqual(refused("/blocks", "must be an array"));
  });

  it("report under the pointer they are given", () => {
    expect(checkBlocks([section({ text: mrkdwn("") })], "modal", "/view/blocks")).toEqual(refused("/view/blocks/0/text/text", "must be more than 0 characters"));
  });

  it("block_ids are unique across the whole surface", () => {
    expect(inMessage(section({ block_id: "sending" }), header({ block_id: "title" }))).toEqual([]);
    expect(inMessage(section({ block_id: "sending" }), divider(), header({ block_id: "sending" }))).toEqual(refused("/blocks/2/block_id", "duplicate block_id"));
    expect(checkView(modal({ blocks: [section({ block_id: "a" }), input({ block_id: "a" })] }))).toEqual(refused("/view/blocks/1/block_id", "duplicate block_id"));
  });

  it("an unknown block type is refused by name", () => {
    expect(inMessage({ type: "carousel" })).toEqual(refused("/blocks/0/type", "unsupported block type: carousel"));
  });

  it("a block without a type is refused", () => {
    expect(inMessage({ text: mrkdwn("a") })).toEqual(refused("/blocks/0", "missing required field: type"));
  });

  it("properties a block does not define are refused", () => {
    expect(inMessage(section({ color: "#ff0000" }))).toEqual(refused("/blocks/0", "invalid additional property: color"));
  });
});

describe("section", () => {
  it("needs text or fields", () => {
    expect(inMessage(section({ text: undefined, fields: [mrkdwn("*To*"), plain("everyone")] }))).toEqual([]);
    expect(inMessage(section({ text: undefined }))).toEqual(refused("/blocks/0", "missing required field: text or fields"));
  });

  it("takes expand as a boolean", () => {
    expect(inMessage(section({ expand: true }))).toEqual([]);
    expect(inMessage(section({ expand: "yes" }))).toEqual(refused("/blocks/0/expand", "must be a boolean"));
  });

  it.each(["button", "checkboxes", "datepicker", "image", "static_select", "multi_static_select", "external_select", "multi_external_select", "users_select", "multi_users_select", "conversations_select", "multi_conversations_select", "channels_select", "multi_channels_select", "overflow", "radio_buttons", "timepicker"])(
    "takes a %s accessory",
    (type) => {
      expect(asAccessory(element(type))).toEqual([]);
    },
  );

  it.each(["datetimepicker", "plain_text_input", "file_input"])("refuses a %s accessory", (type) => {
    expect(asAccessory(element(type))).toEqual(refused("/blocks/0/accessory/type", `unsupported element type in a section accessory: ${type}`));
  });
});

describe("header", () => {
  it("needs its text", () => {
    expect(inMessage(header())).toEqual([]);
    expect(inMessage({ type: "header" })).toEqual(refused("/blocks/0", "missing required field: text"));
  });
});

describe("context", () => {
  it("takes images and text objects", () => {
    expect(inMessage(context([element("image"), mrkdwn("*by* Ann"), plain("today")]))).toEqual([]);
  });

  it("refuses interactive elements", () => {
    expect(inMessage(context([plain("a"), button()]))).toEqual(refused("/blocks/0/elements/1/type", "unsupported element type in a context block: button"));
  });
});

describe("divider", () => {
  it("is a type and an optional block_id", () => {
    expect(inMessage(divider({ block_id: "rule" }))).toEqual([]);
    expect(inMessage(divider({ text: plain("—") }))).toEqual(refused("/blocks/0", "invalid additional property: text"));
  });
});

describe("actions", () => {
  it.each(["button", "checkboxes", "datepicker", "datetimepicker", "static_select", "multi_static_select", "external_select", "multi_external_select", "users_select", "multi_users_select", "conversations_select", "multi_conversations_select", "channels_select", "multi_channels_select", "overflow", "radio_buttons", "timepicker"])(
    "takes a %s",
    (type) => {
      expect(inActions(element(type))).toEqual([]);
    },
  );

  it.each(["plain_text_input", "image"])("refuses a %s", (type) => {
    expect(inActions(button(), element(type))).toEqual(refused("/blocks/0/elements/1/type", `unsupported element type in an actions block: ${type}`));
  });

  it("action_ids are unique within the block", () => {
    expect(inActions(button({ action_id: "approve" }), button({ action_id: "reject" }))).toEqual([]);
    expect(inActions(button({ action_id: "approve" }), button({ action_id: "reject" }), button({ action_id: "approve" }))).toEqual(
      refused("/blocks/0/elements/2/action_id", "duplicate action_id"),
    );
  });

  it("the same action_id in two blocks is fine", () => {
    expect(inMessage(actions([button({ action_id: "approve" })]), actions([button({ action_id: "approve" })]))).toEqual([]);
  });
});

describe("input", () => {
  it("is only allowed in modals and Home tabs", () => {
    expect(checkView(modal({ blocks: [input()] }))).toEqual([]);
    expect(checkView(home({ blocks: [input({ dispatch_action: true })] }))).toEqual([]);
    expect(inMessage(section(), input())).toEqual(refused("/blocks/1/type", "input blocks are only allowed in modals and Home tabs"));
  });

  it.each(["plain_text_input", "email_text_input", "url_text_input", "number_input", "checkboxes", "radio_buttons", "datepicker", "timepicker", "datetimepicker", "static_select", "multi_static_select", "external_select", "multi_external_select", "users_select", "multi_users_select", "conversations_select", "multi_conversations_select", "channels_select", "multi_channels_select", "file_input", "rich_text_input"])(
    "takes a %s",
    (type) => {
      expect(asInput(element(type))).toEqual([]);
    },
  );

  it.each(["button", "overflow", "image"])("refuses a %s", (type) => {
    expect(asInput(element(type))).toEqual(refused("/view/blocks/0/element/type", `unsupported element type in an input block: ${type}`));
  });

  it("needs a label and an element", () => {
    expect(checkView(modal({ blocks: [input({ label: undefined, element: undefined })] }))).toEqual([
      { pointer: "/view/blocks/0", message: "missing required field: label" },
      { pointer: "/view/blocks/0", message: "missing required field: element" },
    ]);
  });

  it("takes optional and dispatch_action as booleans", () => {
    expect(checkView(modal({ blocks: [input({ optional: true, dispatch_action: false })] }))).toEqual([]);
    expect(checkView(modal({ blocks: [input({ optional: "true" })] }))).toEqual(refused("/view/blocks/0/optional", "must be a boolean"));
  });
});

describe("image", () => {
  it("needs alt_text", () => {
    expect(inMessage(image({ alt_text: undefined }))).toEqual(refused("/blocks/0", "missing required field: alt_text"));
  });

  it("takes an image_url or a slack_file", () => {
    expect(inMessage(image({ image_url: undefined, slack_file: { id: "F0123" } }))).toEqual([]);
    expect(inMessage(image({ image_url: undefined }))).toEqual(refused("/blocks/0", "missing required field: image_url or slack_file"));
  });
});

describe("rich_text", () => {
  it("is taken as it comes, with its elements", () => {
    const richText = { type: "rich_text", elements: [{ type: "rich_text_section", elements: [{ type: "text", text: "hi" }] }] };
    expect(inMessage(richText)).toEqual([]);
    expect(inMessage({ type: "rich_text" })).toEqual(refused("/blocks/0", "missing required field: elements"));
  });
});

describe("elements", () => {
  it("refuse properties they do not define", () => {
    expect(inActions(button({ colour: "green" }))).toEqual(refused("/blocks/0/elements/0", "invalid additional property: colour"));
  });

  it("a button's style is primary or danger", () => {
    expect(inActions(button({ style: "primary" }), button({ action_id: "reject", style: "danger" }))).toEqual([]);
    expect(inActions(button({ style: "secondary" }))).toEqual(refused("/blocks/0/elements/0/style", 'must be "primary" or "danger"'));
  });

  it("a button needs its text", () => {
    expect(inActions(button({ text: undefined }))).toEqual(refused("/blocks/0/elements/0", "missing required field: text"));
  });

  it("a static select has options or option groups, not neither", () => {
    expect(asAccessory(element("static_select", { options: undefined, option_groups: [optionGroup()] }))).toEqual([]);
    expect(asAccessory(element("static_select", { options: undefined }))).toEqual(refused("/blocks/0/accessory", "missing required field: options or option_groups"));
  });

  it("a static select has options or option groups, not both", () => {
    expect(asAccessory(element("static_select", { option_groups: [optionGroup()] }))).toEqual(
      refused("/blocks/0/accessory", "must define either `options` or `option_groups`, not both"),
    );
  });

  it("an external select takes min_query_length as a number and an initial option", () => {
    expect(asAccessory(element("external_select", { min_query_length: 2, initial_option: option() }))).toEqual([]);
    expect(asAccessory(element("external_select", { min_query_length: "2" }))).toEqual(refused("/blocks/0/accessory/min_query_length", "must be an integer"));
  });

  it("multi selects take max_selected_items of at least 1", () => {
    expect(asAccessory(element("multi_users_select", { max_selected_items: 1, initial_users: ["UANN"] }))).toEqual([]);
    expect(asAccessory(element("multi_users_select", { max_selected_items: 0 }))).toEqual(refused("/blocks/0/accessory/max_selected_items", "must be at least 1"));
  });

  it("only overflow options open a url", () => {
    expect(asAccessory(element("overflow", { options: [option("a", { url: "https://example.com" }), option("b")] }))).toEqual([]);
    expect(asAccessory(element("static_select", { options: [option("a", { url: "https://example.com" })] }))).toEqual(
      refused("/blocks/0/accessory/options/0", "invalid additional property: url"),
    );
  });

  it("an option needs text and value", () => {
    expect(asAccessory(element("static_select", { options: [{ text: plain("A") }] }))).toEqual(refused("/blocks/0/accessory/options/0", "missing required field: value"));
  });

  it("a confirm needs title, text, confirm and deny", () => {
    expect(inActions(button({ confirm: confirm({ style: "danger" }) }))).toEqual([]);
    expect(inActions(button({ confirm: confirm({ deny: undefined }) }))).toEqual(refused("/blocks/0/elements/0/confirm", "missing required field: deny"));
  });

  it("a confirm's style is primary or danger", () => {
    expect(inActions(button({ confirm: confirm({ style: "warning" }) }))).toEqual(refused("/blocks/0/elements/0/confirm/style", 'must be "primary" or "danger"'));
  });

  it("a context image needs its alt_text", () => {
    expect(inMessage(context([element("image", { alt_text: undefined })]))).toEqual(refused("/blocks/0/elements/0", "missing required field: alt_text"));
  });
});

describe("plain_text_input", () => {
  const textInput = (overrides: Overrides) => asInput(element("plain_text_input", overrides));

  it("min_length is 0 to 3000", () => {
    expect(textInput({ min_length: 0 })).toEqual([]);
    expect(textInput({ min_length: 3000 })).toEqual([]);
    expect(textInput({ min_length: -1 })).toEqual(refused("/view/blocks/0/element/min_length", "must be at least 0"));
    expect(textInput({ min_length: 3001 })).toEqual(refused("/view/blocks/0/element/min_length", "must be no more than 3000"));
  });

  it("max_length is 1 to 3000", () => {
    expect(textInput({ max_length: 1 })).toEqual([]);
    expect(textInput({ max_length: 3000 })).toEqual([]);
    expect(textInput({ max_length: 0 })).toEqual(refused("/view/blocks/0/element/max_length", "must be at least 1"));
    expect(textInput({ max_length: 3001 })).toEqual(refused("/view/blocks/0/element/max_length", "must be no more than 3000"));
  });

  it("max_length is not below min_length", () => {
    expect(textInput({ min_length: 10, max_length: 10 })).toEqual([]);
    expect(textInput({ min_length: 10, max_length: 9 })).toEqual(refused("/view/blocks/0/element/max_length", "must be at least min_length (10)"));
  });

  it("takes multiline, initial_value, dispatch_action_config and focus_on_load", () => {
    const full = { multiline: true, initial_value: "Because", dispatch_action_config: { trigger_actions_on: ["on_enter_pressed"] }, focus_on_load: true };
    expect(textInput(full)).toEqual([]);
    expect(textInput({ multiline: "yes" })).toEqual(refused("/view/blocks/0/element/multiline", "must be a boolean"));
  });
});

describe("date and time pickers", () => {
  it("a datepicker's initial_date is YYYY-MM-DD", () => {
    expect(asAccessory(element("datepicker", { initial_date: "2024-02-29" }))).toEqual([]);
    expect(asAccessory(element("datepicker", { initial_date: "29/02/2024" }))).toEqual(refused("/blocks/0/accessory/initial_date", "must be in the format YYYY-MM-DD"));
  });

  it("a timepicker's initial_time is HH:mm", () => {
    expect(asAccessory(element("timepicker", { initial_time: "09:30" }))).toEqual([]);
    expect(asAccessory(element("timepicker", { initial_time: "9:30" }))).toEqual(refused("/blocks/0/accessory/initial_time", "must be in the format HH:mm"));
  });

  it("a datetimepicker's initial_date_time is an integer of unix seconds", () => {
    expect(asInput(element("datetimepicker", { initial_date_time: 1_700_000_000 }))).toEqual([]);
    expect(asInput(element("datetimepicker", { initial_date_time: "1700000000" }))).toEqual(refused("/view/blocks/0/element/initial_date_time", "must be an integer"));
  });

  it("a datetimepicker refuses milliseconds, which are more than Slack's ten digits", () => {
    expect(asInput(element("datetimepicker", { initial_date_time: 9_999_999_999 }))).toEqual([]);
    expect(asInput(element("datetimepicker", { initial_date_time: 1_700_000_000_000 }))).toEqual(
      refused("/view/blocks/0/element/initial_date_time", "must be no more than 9999999999"),
    );
  });
});

describe("other input elements", () => {
  it("a number_input needs is_decimal_allowed", () => {
    expect(asInput(element("number_input", { min_value: "1", max_value: "10" }))).toEqual([]);
    expect(asInput(element("number_input", { is_decimal_allowed: undefined }))).toEqual(refused("/view/blocks/0/element", "missing required field: is_decimal_allowed"));
  });

  it("a file_input takes at most 10 files", () => {
    expect(asInput(element("file_input", { max_files: 10, filetypes: ["csv"] }))).toEqual([]);
    expect(asInput(element("file_input", { max_files: 11 }))).toEqual(refused("/view/blocks/0/element/max_files", "must be no more than 10"));
  });
});

describe("views", () => {
  it("a modal with an input block must define submit", () => {
    expect(checkView(modal({ blocks: [input()] }))).toEqual([]);
    expect(checkView(modal({ submit: undefined, blocks: [section(), input()] }))).toEqual(refused("/view", "must define `submit` to use `input` block"));
  });

  it("a modal without inputs needs no submit", () => {
    expect(checkView(modal({ submit: undefined }))).toEqual([]);
  });

  it("a modal needs a title and blocks", () => {
    expect(checkView({ type: "modal" })).toEqual([
      { pointer: "/view", message: "missing required field: title" },
      { pointer: "/view", message: "missing required field: blocks" },
    ]);
  });

  it("a Home tab needs blocks but no title", () => {
    expect(checkView(home())).toEqual([]);
    expect(checkView({ type: "home" })).toEqual(refused("/view", "missing required field: blocks"));
  });

  it("is a modal or a Home tab", () => {
    expect(checkView(modal({ type: "workflow_step" }))).toEqual(refused("/view/type", 'must be "modal" or "home"'));
  });

  it("takes the properties Slack defines", () => {
    const full = modal({
      close: plain("Cancel"),
      private_metadata: JSON.stringify({ sendingId: "s_1" }),
      callback_id: "approve_sending",
      external_id: "sending-s_1",
      clear_on_close: true,
      notify_on_close: false,
      submit_disabled: false,
    });
    expect(checkView(full)).toEqual([]);
  });

  it("refuses properties Slack does not define", () => {
    expect(checkView(modal({ colour: "blue" }))).toEqual(refused("/view", "invalid additional property: colour"));
  });

  it("takes its flags as booleans", () => {
    expect(checkView(modal({ notify_on_close: "true" }))).toEqual(refused("/view/notify_on_close", "must be a boolean"));
  });

  it("arrives as a JSON string from form-encoded calls", () => {
    expect(checkView(JSON.stringify(modal()))).toEqual([]);
    expect(checkView("{ not json")).toEqual(refused("/view", "must be a valid JSON object"));
  });

  it("reports under the pointer it is given", () => {
    expect(checkView(modal({ title: plain(chars(25)) }), "")).toEqual(refused("/title/text", "must be less than 25 characters"));
  });
});

describe("block_suggestion answers", () => {
  it("may offer no options", () => {
    expect(checkOptionsResponse({ options: [] })).toEqual([]);
  });

  it("offer options or option groups", () => {
    expect(checkOptionsResponse({ option_groups: [optionGroup()] })).toEqual([]);
    expect(checkOptionsResponse({})).toEqual(refused("", "missing required field: options or option_groups"));
  });

  it("refuse properties Slack does not define", () => {
    expect(checkOptionsResponse({ options: [], text: "hi" })).toEqual(refused("", "invalid additional property: text"));
  });
});

describe("messages", () => {
  it("need text or blocks (Slack's no_text)", () => {
    expect(checkMessage({ text: "hi" })).toEqual({ problems: [], warnings: [] });
    expect(checkMessage({}).problems).toEqual([{ pointer: "", message: expect.stringContaining("no_text") }]);
    expect(checkMessage({ text: "", blocks: [] }).problems).toEqual([{ pointer: "", message: expect.stringContaining("no_text") }]);
  });

  it("blocks without a top-level text fallback pass, with Slack's warning", () => {
    const { problems, warnings } = checkMessage({ blocks: [section()] });
    expect(problems).toEqual([]);
    expect(warnings).toEqual([expect.stringMatching(/top-level `text` fallback is missing/)]);
    expect(checkMessage({ text: "Pending sending", blocks: [section()] }).warnings).toEqual([]);
  });

  it("check their blocks as a message's, from a JSON string too", () => {
    expect(checkMessage({ text: "hi", blocks: JSON.stringify([input()]) }).problems).toEqual(
      refused("/blocks/0/type", "input blocks are only allowed in modals and Home tabs"),
    );
    expect(checkMessage({ text: "hi", blocks: "[" }).problems).toEqual(refused("/blocks", "must be a valid JSON array"));
  });

  it("report under the pointer they are given", () => {
    expect(checkMessage({ text: "hi", blocks: sections(51) }, "/message").problems).toEqual(refused("/message/blocks", "no more than 50 items allowed"));
  });
});
