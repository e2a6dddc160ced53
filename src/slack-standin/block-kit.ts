/**
 * Block Kit payloads checked the way Slack checks them, from Slack's public reference
 * (https://api.slack.com/reference/block-kit/blocks, /block-elements, /composition-objects and
 * /surfaces/views). Each problem names a JSON pointer into the payload and reads like Slack's own
 * "[ERROR] … [json-pointer:…]" lines.
 *
 * Written apart from sendgate's block builders on purpose: a limit misread there must not be misread
 * here too. Strict where Slack is strict, and where the reference is silent it lets the payload through,
 * since a stand-in that refuses what Slack accepts would fail tests that production passes.
 */

export interface BlockKitProblem {
  pointer: string;
  message: string;
}

export type Surface = "message" | "modal" | "home";

export const BlockKitLimits = {
  messageBlocks: 50,
  viewBlocks: 100,
  messageText: 40_000,
  blockId: 255,
  actionId: 255,
  textObjectText: 3000,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  inputLabel: 2000,
  inputHint: 2000,
  imageUrl: 3000,
  imageAltText: 2000,
  imageTitle: 2000,
  buttonText: 75,
  buttonValue: 2000,
  buttonAccessibilityLabel: 75,
  url: 3000,
  placeholder: 150,
  overflowOptionsMin: 2,
  overflowOptionsMax: 5,
  selectOptions: 100,
  selectOptionGroups: 100,
  optionGroupLabel: 75,
  optionGroupOptions: 100,
  choiceOptionsMin: 1,
  choiceOptionsMax: 10,
  optionText: 75,
  optionValue: 150,
  optionDescription: 75,
  plainTextInputLength: 3000,
  fileInputFiles: 10,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  viewTitle: 24,
  viewButton: 24,
  privateMetadata: 3000,
  callbackId: 255,
  externalId: 255,
} as const;

const L = BlockKitLimits;

type Json = Record<string, unknown>;
type Problems = BlockKitProblem[];
/** Checks one value; `at` is the value's own pointer. */
type Check = (value: unknown, at: string, out: Problems) => void;

/** An object's allowed fields, each with its check; any other field is refused. */
interface Shape {
  fields: Record<string, Check>;
  required?: readonly string[];
  /** Rules that span fields, run after each field is checked. */
  across?: (object: Json, at: string, out: Problems) => void;
}

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

/** Slack counts characters, so an emoji outside the BMP is one, not two UTF-16 units. */
const characters = (text: string) => [...text].length;

const listed = (values: readonly string[]) =>
  values.length === 1 ? `"${values[0]}"` : `${values.slice(0, -1).map((v) => `"${v}"`).join(", ")} or "${values.at(-1)}"`;

const items = (count: number) => (count === 1 ? "1 item" : `${count} items`);

function checkShape(object: Json, shape: Shape, at: string, out: Problems) {
  for (const [key, value] of Object.entries(object)) {
    // An undefined field never reaches Slack: JSON has no undefined.
    if (value === undefined) continue;
    // hasOwn, not `in`: a field called "constructor" must be refused, not looked up on Object's prototype.
    const check = Object.hasOwn(shape.fields, key) ? shape.fields[key] : undefined;
    if (check) check(value, `${at}/${key}`, out);
    else out.push({ pointer: at, message: `invalid additional property: ${key}` });
  }
  for (const key of shape.required ?? []) {
    if (object[key] === undefined) out.push({ pointer: at, message: `missing required field: ${key}` });
  }
  shape.across?.(object, at, out);
}

// Field checks ------------------------------------------------------------------------------------

const anything: Check = () => {};

const string =
  (max = Number.POSITIVE_INFINITY, min = 0): Check =>
  (value, at, out) => {
    if (typeof value !== "string") return void out.push({ pointer: at, message: "must be a string" });
    const length = characters(value);
    if (length > max) out.push({ pointer: at, message: `must be less than ${max + 1} characters` });
    else if (length < min) out.push({ pointer: at, message: `must be more than ${min - 1} characters` });
  };

const anyString = string();

const boolean: Check = (value, at, out) => {
  if (typeof value !== "boolean") out.push({ pointer: at, message: "must be a boolean" });
};

const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): Check =>
  (value, at, out) => {
    if (typeof value !== "number" || !Number.isInteger(value)) return void out.push({ pointer: at, message: "must be an integer" });
    if (value < min) out.push({ pointer: at, message: `must be at least ${min}` });
    else if (value > max) out.push({ pointer: at, message: `must be no more than ${max}` });
  };

const oneOf =
  (...values: string[]): Check =>
  (value, at, out) => {
    if (typeof value !== "string" || !values.includes(value)) out.push({ pointer: at, message: `must be ${listed(values)}` });
  };

const matching =
  (pattern: RegExp, format: string): Check =>
  (value, at, out) => {
    if (typeof value !== "string" || !pattern.test(value)) out.push({ pointer: at, message: `must be in the format ${format}` });
  };

const objectOf =
  (shape: Shape): Check =>
  (value, at, out) => {
    if (!isObject(value)) return void out.push({ pointer: at, message: "must be an object" });
    checkShape(value, shape, at, out);
  };

const arrayOf =
  (item: Check, { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {}): Check =>
  (value, at, out) => {
    if (!Array.isArray(value)) return void out.push({ pointer: at, message: "must be an array" });
    if (value.length > max) out.push({ pointer: at, message: `no more than ${max} items allowed` });
    if (value.length < min) out.push({ pointer: at, message: `at least ${items(min)} required` });
    value.forEach((entry, index) => item(entry, `${at}/${index}`, out));
  };

// Composition objects -----------------------------------------------------------------------------

type TextKind = "plain_text" | "any";

const textObject =
  (max: number, kind: TextKind): Check =>
  (value, at, out) => {
    if (!isObject(value)) return void out.push({ pointer: at, message: "must be a text object" });
    if (value.type === undefined) return void out.push({ pointer: at, message: "missing required field: type" });
    if (value.type !== "plain_text" && value.type !== "mrkdwn") {
      return void out.push({ pointer: `${at}/type`, message: `must be "plain_text" or "mrkdwn"` });
    }
    if (kind === "plain_text" && value.type !== "plain_text") {
      return void out.push({ pointer: `${at}/type`, message: "must be a plain_text text object" });
    }
    const fields: Record<string, Check> = { type: anything, text: string(max, 1) };
    if (value.type === "plain_text") fields.emoji = boolean;
    else fields.verbatim = boolean;
    checkShape(value, { fields, required: ["text"] }, at, out);
  };

const plainText = (max: number) => textObject(max, "plain_text");
const anyText = (max: number) => textObject(max, "any");

const confirm = objectOf({
  fields: {
    title: plainText(L.confirmTitle),
    text: anyText(L.confirmText),
    confirm: plainText(L.confirmButton),
    deny: plainText(L.confirmButton),
    style: oneOf("primary", "danger"),
  },
  required: ["title", "text", "confirm", "deny"],
});

/** Menus show only plain text; radio buttons and checkboxes may use mrkdwn; only overflow menus open a url. */
const option = ({ text, url = false }: { text: TextKind; url?: boolean }) =>
  objectOf({
    fields: {
      text: textObject(L.optionText, text),
      value: string(L.optionValue),
      description: textObject(L.optionDescription, text),
      ...(url ? { url: string(L.url) } : {}),
    },
    required: ["text", "value"],
  });

const menuOption = option({ text: "plain_text" });
const choiceOption = option({ text: "any" });

const optionGroup = objectOf({
  fields: { label: plainText(L.optionGroupLabel), options: arrayOf(menuOption, { max: L.optionGroupOptions }) },
  required: ["label", "options"],
});

const menuOptions = arrayOf(menuOption, { max: L.selectOptions });
const optionGroups = arrayOf(optionGroup, { max: L.selectOptionGroups });

/** Static menus and block_suggestion answers carry options or option groups, exactly one of them. */
function optionsOrGroups(object: Json, at: string, out: Problems) {
  if (object.options === undefined && object.option_groups === undefined) {
    out.push({ pointer: at, message: "missing required field: options or option_groups" });
  } else if (object.options !== undefined && object.option_groups !== undefined) {
    out.push({ pointer: at, message: "must define either `options` or `option_groups`, not both" });
  }
}

const dispatchActionConfig = objectOf({
  fields: { trigger_actions_on: arrayOf(oneOf("on_enter_pressed", "on_character_entered"), { min: 1 }) },
});

const conversationFilter = objectOf({
  fields: {
    include: arrayOf(oneOf("im", "mpim", "private", "public"), { min: 1 }),
    exclude_external_shared_channels: boolean,
    exclude_bot_users: boolean,
  },
});

const slackFile = objectOf({
  fields: { url: string(L.imageUrl), id: anyString },
  across: (file, at, out) => {
    if (file.url === undefined && file.id === undefined) out.push({ pointer: at, message: "missing required field: url or id" });
  },
});

function imageSource(image: Json, at: string, out: Problems) {
  if (image.image_url === undefined && image.slack_file === undefined) {
    out.push({ pointer: at, message: "missing required field: image_url or slack_file" });
  }
}

// Block elements ----------------------------------------------------------------------------------

const strings = arrayOf(anyString);

const interactive = {
  type: anything,
  action_id: string(L.actionId),
  focus_on_load: boolean,
};
const placeholder = plainText(L.placeholder);
const maxSelectedItems = integer(1);

const selectShape = (fields: Record<string, Check>, across?: Shape["across"]): Shape => ({
  fields: { ...interactive, confirm, placeholder, ...fields },
  across,
});
const multiSelectShape = (fields: Record<string, Check>, across?: Shape["across"]): Shape =>
  selectShape({ max_selected_items: maxSelectedItems, ...fields }, across);

const textInputShape = (fields: Record<string, Check> = {}, across?: Shape["across"]): Shape => ({
  fields: { ...interactive, initial_value: anyString, dispatch_action_config: dispatchActionConfig, placeholder, ...fields },
  across,
});

const elementShapes: Record<string, Shape> = {
  button: {
    fields: {
      type: anything,
      action_id: string(L.actionId),
      text: plainText(L.buttonText),
      url: string(L.url),
      value: string(L.buttonValue),
      style: oneOf("primary", "danger"),
      confirm,
      accessibility_label: string(L.buttonAccessibilityLabel),
    },
    required: ["text"],
  },
  checkboxes: {
    fields: {
      ...interactive,
      options: arrayOf(choiceOption, { min: L.choiceOptionsMin, max: L.choiceOptionsMax }),
      initial_options: arrayOf(choiceOption),
      confirm,
    },
    required: ["options"],
  },
  radio_buttons: {
    fields: {
      ...interactive,
      options: arrayOf(choiceOption, { min: L.choiceOptionsMin, max: L.choiceOptionsMax }),
      initial_option: choiceOption,
      confirm,
    },
    required: ["options"],
  },
  overflow: {
    fields: {
      type: anything,
      action_id: string(L.actionId),
      options: arrayOf(option({ text: "plain_text", url: true }), { min: L.overflowOptionsMin, max: L.overflowOptionsMax }),
      confirm,
    },
    required: ["options"],
  },
  datepicker: {
    fields: { ...interactive, initial_date: matching(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, "YYYY-MM-DD"), confirm, placeholder },
  },
  timepicker: {
    fields: { ...interactive, initial_time: matching(/^([01]\d|2[0-3]):[0-5]\d$/, "HH:mm"), confirm, placeholder, timezone: anyString },
  },
  datetimepicker: {
    // Unix seconds, "10 digits" in Slack's words: a millisecond timestamp is refused.
    fields: { ...interactive, initial_date_time: integer(0, 9_999_999_999), confirm },
  },
  static_select: selectShape({ options: menuOptions, option_groups: optionGroups, initial_option: menuOption }, optionsOrGroups),
  multi_static_select: multiSelectShape({ options: menuOptions, option_groups: optionGroups, initial_options: arrayOf(menuOption) }, optionsOrGroups),
  external_select: selectShape({ initial_option: menuOption, min_query_length: integer(0) }),
  multi_external_select: multiSelectShape({ initial_options: arrayOf(menuOption), min_query_length: integer(0) }),
  users_select: selectShape({ initial_user: anyString }),
  multi_users_select: multiSelectShape({ initial_users: strings }),
  conversations_select: selectShape({
    initial_conversation: anyString,
    default_to_current_conversation: boolean,
    response_url_enabled: boolean,
    filter: conversationFilter,
  }),
  multi_conversations_select: multiSelectShape({ initial_conversations: strings, default_to_current_conversation: boolean, filter: conversationFilter }),
  channels_select: selectShape({ initial_channel: anyString, response_url_enabled: boolean }),
  multi_channels_select: multiSelectShape({ initial_channels: strings }),
  plain_text_input: textInputShape(
    {
      multiline: boolean,
      min_length: integer(0, L.plainTextInputLength),
      max_length: integer(1, L.plainTextInputLength),
    },
    (input, at, out) => {
      const { min_length: min, max_length: max } = input;
      if (typeof min === "number" && typeof max === "number" && max < min) {
        out.push({ pointer: `${at}/max_length`, message: `must be at least min_length (${min})` });
      }
    },
  ),
  email_text_input: textInputShape(),
  url_text_input: textInputShape(),
  number_input: {
    ...textInputShape({ is_decimal_allowed: boolean, min_value: anyString, max_value: anyString }),
    required: ["is_decimal_allowed"],
  },
  // Its initial value is a rich_text block, taken as it comes like rich_text blocks are.
  rich_text_input: textInputShape({ initial_value: anything }),
  file_input: {
    fields: { type: anything, action_id: string(L.actionId), filetypes: strings, max_files: integer(1, L.fileInputFiles) },
  },
  image: {
    fields: { type: anything, image_url: string(L.imageUrl), slack_file: slackFile, alt_text: string(L.imageAltText) },
    required: ["alt_text"],
    across: imageSource,
  },
};

const selects = ["static_select", "external_select", "users_select", "conversations_select", "channels_select"];
const multiSelects = selects.map((type) => `multi_${type}`);

const sectionAccessories = ["button", "checkboxes", "datepicker", "image", ...selects, ...multiSelects, "overflow", "radio_buttons", "timepicker"];
const actionsElements = ["button", "checkboxes", "datepicker", "datetimepicker", ...selects, ...multiSelects, "overflow", "radio_buttons", "timepicker"];
const inputElements = [
  "plain_text_input",
  "email_text_input",
  "url_text_input",
  "number_input",
  "checkboxes",
  "radio_buttons",
  "datepicker",
  "timepicker",
  "datetimepicker",
  ...selects,
  ...multiSelects,
  "file_input",
  "rich_text_input",
];

/** An element of one of the `allowed` types; `where` names the position in the refusal. */
const elementOf =
  (allowed: readonly string[], where: string): Check =>
  (value, at, out) => {
    if (!isObject(value)) return void out.push({ pointer: at, message: "must be an object" });
    if (value.type === undefined) return void out.push({ pointer: at, message: "missing required field: type" });
    const shape = typeof value.type === "string" && allowed.includes(value.type) ? elementShapes[value.type] : undefined;
    if (!shape) return void out.push({ pointer: `${at}/type`, message: `unsupported element type in ${where}: ${String(value.type)}` });
    checkShape(value, shape, at, out);
  };

const contextElement: Check = (value, at, out) => {
  if (isObject(value) && (value.type === "plain_text" || value.type === "mrkdwn")) anyText(L.textObjectText)(value, at, out);
  else elementOf(["image"], "a context block")(value, at, out);
};

/** Slack answers interactions by block_id and action_id, so an action_id may appear once in a block. */
function uniqueActionIds(elements: unknown, at: string, out: Problems) {
  if (!Array.isArray(elements)) return;
  const seen = new Set<string>();
  elements.forEach((element, index) => {
    if (!isObject(element) || typeof element.action_id !== "string") return;
    if (seen.has(element.action_id)) out.push({ pointer: `${at}/${index}/action_id`, message: "duplicate action_id" });
    seen.add(element.action_id);
  });
}

// Blocks ------------------------------------------------------------------------------------------

interface BlockShape extends Shape {
  /** Surfaces the block may appear on, when not all of them. */
  surfaces?: readonly Surface[];
  surfaceMessage?: string;
}

const block = { type: anything, block_id: string(L.blockId) };

const blockShapes: Record<string, BlockShape> = {
  section: {
    fields: {
      ...block,
      text: anyText(L.sectionText),
      fields: arrayOf(anyText(L.sectionFieldText), { max: L.sectionFields }),
      accessory: elementOf(sectionAccessories, "a section accessory"),
      expand: boolean,
    },
    across: (section, at, out) => {
      if (section.text === undefined && section.fields === undefined) out.push({ pointer: at, message: "missing required field: text or fields" });
    },
  },
  header: { fields: { ...block, text: plainText(L.headerText) }, required: ["text"] },
  context: {
    fields: { ...block, elements: arrayOf(contextElement, { min: 1, max: L.contextElements }) },
    required: ["elements"],
  },
  divider: { fields: block },
  actions: {
    fields: { ...block, elements: arrayOf(elementOf(actionsElements, "an actions block"), { min: 1, max: L.actionsElements }) },
    required: ["elements"],
    across: (actions, at, out) => uniqueActionIds(actions.elements, `${at}/elements`, out),
  },
  input: {
    fields: {
      ...block,
      label: plainText(L.inputLabel),
      element: elementOf(inputElements, "an input block"),
      hint: plainText(L.inputHint),
      optional: boolean,
      dispatch_action: boolean,
    },
    required: ["label", "element"],
    surfaces: ["modal", "home"],
    surfaceMessage: "input blocks are only allowed in modals and Home tabs",
  },
  image: {
    fields: { ...block, image_url: string(L.imageUrl), slack_file: slackFile, alt_text: string(L.imageAltText), title: plainText(L.imageTitle) },
    required: ["alt_text"],
    across: imageSource,
  },
  // Rich text is taken as it comes: sendgate only ever receives it, in messages people wrote.
  rich_text: { fields: { ...block, elements: arrayOf(anything) }, required: ["elements"] },
};

function checkBlockList(blocks: unknown, surface: Surface, at: string, out: Problems) {
  if (!Array.isArray(blocks)) return void out.push({ pointer: at, message: "must be an array" });
  const max = surface === "message" ? L.messageBlocks : L.viewBlocks;
  if (blocks.length > max) out.push({ pointer: at, message: `no more than ${max} items allowed` });
  const blockIds = new Set<string>();
  blocks.forEach((value: unknown, index) => {
    const blockAt = `${at}/${index}`;
    if (!isObject(value)) return void out.push({ pointer: blockAt, message: "must be an object" });
    if (value.type === undefined) return void out.push({ pointer: blockAt, message: "missing required field: type" });
    const shape = typeof value.type === "string" && Object.hasOwn(blockShapes, value.type) ? blockShapes[value.type] : undefined;
    if (!shape) return void out.push({ pointer: `${blockAt}/type`, message: `unsupported block type: ${String(value.type)}` });
    if (shape.surfaces && !shape.surfaces.includes(surface)) {
      return void out.push({ pointer: `${blockAt}/type`, message: shape.surfaceMessage ?? `not allowed in a ${surface}` });
    }
    checkShape(value, shape, blockAt, out);
    if (typeof value.block_id === "string") {
      if (blockIds.has(value.block_id)) out.push({ pointer: `${blockAt}/block_id`, message: "duplicate block_id" });
      blockIds.add(value.block_id);
    }
  });
}

// Surfaces ----------------------------------------------------------------------------------------

/** Form-encoded Web API calls carry blocks and views as JSON strings. */
function parsedJson(value: unknown, what: "array" | "object", at: string, out: Problems): { ok: boolean; value: unknown } {
  if (typeof value !== "string") return { ok: true, value };
  try {
    return { ok: true, value: JSON.parse(value) as unknown };
  } catch {
    out.push({ pointer: at, message: `must be a valid JSON ${what}` });
    return { ok: false, value: undefined };
  }
}

export function checkBlocks(blocks: unknown, surface: Surface, at = "/blocks"): BlockKitProblem[] {
  const out: Problems = [];
  const parsed = parsedJson(blocks, "array", at, out);
  if (parsed.ok) checkBlockList(parsed.value, surface, at, out);
  return out;
}

const viewFields = {
  type: anything,
  private_metadata: string(L.privateMetadata),
  callback_id: string(L.callbackId),
  external_id: string(L.externalId),
  clear_on_close: boolean,
  notify_on_close: boolean,
  submit_disabled: boolean,
};

const modalShape: Shape = {
  fields: {
    ...viewFields,
    title: plainText(L.viewTitle),
    submit: plainText(L.viewButton),
    close: plainText(L.viewButton),
    blocks: (blocks, at, out) => checkBlockList(blocks, "modal", at, out),
  },
  required: ["title", "blocks"],
  across: (modal, at, out) => {
    const hasInput = Array.isArray(modal.blocks) && modal.blocks.some((b) => isObject(b) && b.type === "input");
    if (hasInput && modal.submit === undefined) out.push({ pointer: at, message: "must define `submit` to use `input` block" });
  },
};

// A Home tab has no title or buttons to show; Slack's reference does not say it refuses them, so they pass.
const homeShape: Shape = {
  fields: { ...viewFields, title: anything, submit: anything, close: anything, blocks: (blocks, at, out) => checkBlockList(blocks, "home", at, out) },
  required: ["blocks"],
};

export function checkView(view: unknown, at = "/view"): BlockKitProblem[] {
  const out: Problems = [];
  const parsed = parsedJson(view, "object", at, out);
  if (!parsed.ok) return out;
  const value = parsed.value;
  if (!isObject(value)) return [{ pointer: at, message: "must be an object" }];
  if (value.type === undefined) return [{ pointer: at, message: "missing required field: type" }];
  if (value.type !== "modal" && value.type !== "home") return [{ pointer: `${at}/type`, message: `must be "modal" or "home"` }];
  checkShape(value, value.type === "modal" ? modalShape : homeShape, at, out);
  return out;
}

const optionsResponseShape: Shape = {
  fields: { options: menuOptions, option_groups: optionGroups },
  across: optionsOrGroups,
};

/** What an app answers to a block_suggestion: the options an external select shows for what was typed. */
export function checkOptionsResponse(body: unknown, at = ""): BlockKitProblem[] {
  const out: Problems = [];
  const parsed = parsedJson(body, "object", at, out);
  if (!parsed.ok) return out;
  objectOf(optionsResponseShape)(parsed.value, at, out);
  return out;
}

export function checkMessage(args: { text?: unknown; blocks?: unknown }, at = ""): { problems: BlockKitProblem[]; warnings: string[] } {
  const problems: Problems = [];
  const warnings: string[] = [];
  const { text } = args;
  if (text !== undefined && text !== null) {
    if (typeof text !== "string") problems.push({ pointer: `${at}/text`, message: "must be a string" });
    else if (characters(text) > L.messageText) problems.push({ pointer: `${at}/text`, message: `must be less than ${L.messageText + 1} characters` });
  }
  let blocks: unknown = undefined;
  if (args.blocks !== undefined && args.blocks !== null) {
    const parsed = parsedJson(args.blocks, "array", `${at}/blocks`, problems);
    if (parsed.ok) {
      blocks = parsed.value;
      checkBlockList(blocks, "message", `${at}/blocks`, problems);
    }
  }
  const hasText = typeof text === "string" && text.length > 0;
  const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
  const noBlocks = args.blocks === undefined || args.blocks === null || (Array.isArray(blocks) && blocks.length === 0);
  if (!hasText && noBlocks) problems.push({ pointer: at, message: "no_text: must provide `text` or `blocks`" });
  if (hasBlocks && !hasText) {
    warnings.push("missing_text: the top-level `text` fallback is missing; notifications and screen readers show it where blocks cannot be shown");
  }
  return { problems, warnings };
}
