/**
 * Slack's text formats as HTML, for the playground page. Pure functions: no DOM, and every character
 * that comes from Slack text is HTML-escaped before it reaches the output, so the page may insert
 * what they return with innerHTML. Written from Slack's "Formatting text for app surfaces" guide.
 */

/** The shortcodes sendgate writes and the common ones people expect; unknown ones stay as text. */
export const EMOJI = {
  white_check_mark: "\u2705",
  heavy_check_mark: "\u2714\uFE0F",
  ballot_box_with_check: "\u2611\uFE0F",
  warning: "\u26A0\uFE0F",
  no_entry: "\u26D4",
  no_entry_sign: "\uD83D\uDEAB",
  x: "\u274C",
  heavy_multiplication_x: "\u2716\uFE0F",
  calendar: "\uD83D\uDCC6",
  date: "\uD83D\uDCC5",
  spiral_calendar_pad: "\uD83D\uDDD3\uFE0F",
  pencil: "\uD83D\uDCDD",
  memo: "\uD83D\uDCDD",
  pencil2: "\u270F\uFE0F",
  outbox_tray: "\uD83D\uDCE4",
  inbox_tray: "\uD83D\uDCE5",
  double_vertical_bar: "\u23F8\uFE0F",
  arrow_forward: "\u25B6\uFE0F",
  arrow_backward: "\u25C0\uFE0F",
  arrow_right: "\u27A1\uFE0F",
  arrow_left: "\u2B05\uFE0F",
  black_square_for_stop: "\u23F9\uFE0F",
  alarm_clock: "\u23F0",
  stopwatch: "\u23F1\uFE0F",
  hourglass: "\u231B",
  hourglass_flowing_sand: "\u23F3",
  bell: "\uD83D\uDD14",
  no_bell: "\uD83D\uDD15",
  checkered_flag: "\uD83C\uDFC1",
  email: "\uD83D\uDCE7",
  "e-mail": "\uD83D\uDCE7",
  envelope: "\u2709\uFE0F",
  incoming_envelope: "\uD83D\uDCE8",
  envelope_with_arrow: "\uD83D\uDCE9",
  mailbox: "\uD83D\uDCEB",
  scissors: "\u2702\uFE0F",
  mag: "\uD83D\uDD0D",
  mag_right: "\uD83D\uDD0E",
  large_green_circle: "\uD83D\uDFE2",
  red_circle: "\uD83D\uDD34",
  large_yellow_circle: "\uD83D\uDFE1",
  large_orange_circle: "\uD83D\uDFE0",
  large_blue_circle: "\uD83D\uDD35",
  white_circle: "\u26AA",
  black_circle: "\u26AB",
  rocket: "\uD83D\uDE80",
  tada: "\uD83C\uDF89",
  clipboard: "\uD83D\uDCCB",
  information_source: "\u2139\uFE0F",
  grey_question: "\u2754",
  question: "\u2753",
  grey_exclamation: "\u2755",
  exclamation: "\u2757",
  bangbang: "\u203C\uFE0F",
  lock: "\uD83D\uDD12",
  unlock: "\uD83D\uDD13",
  key: "\uD83D\uDD11",
  link: "\uD83D\uDD17",
  paperclip: "\uD83D\uDCCE",
  page_facing_up: "\uD83D\uDCC4",
  bar_chart: "\uD83D\uDCCA",
  chart_with_upwards_trend: "\uD83D\uDCC8",
  chart_with_downwards_trend: "\uD83D\uDCC9",
  hammer_and_wrench: "\uD83D\uDEE0\uFE0F",
  gear: "\u2699\uFE0F",
  eyes: "\uD83D\uDC40",
  wave: "\uD83D\uDC4B",
  "+1": "\uD83D\uDC4D",
  thumbsup: "\uD83D\uDC4D",
  "-1": "\uD83D\uDC4E",
  thumbsdown: "\uD83D\uDC4E",
  clap: "\uD83D\uDC4F",
  pray: "\uD83D\uDE4F",
  raised_hands: "\uD83D\uDE4C",
  point_right: "\uD83D\uDC49",
  point_left: "\uD83D\uDC48",
  point_up: "\u261D\uFE0F",
  point_down: "\uD83D\uDC47",
  smile: "\uD83D\uDE04",
  slightly_smiling_face: "\uD83D\uDE42",
  thinking_face: "\uD83E\uDD14",
  sweat_smile: "\uD83D\uDE05",
  fire: "\uD83D\uDD25",
  sparkles: "\u2728",
  star: "\u2B50",
  zap: "\u26A1",
  boom: "\uD83D\uDCA5",
  bulb: "\uD83D\uDCA1",
  hourglass_done: "\u231B",
  robot_face: "\uD83E\uDD16",
  package: "\uD83D\uDCE6",
  spiral_note_pad: "\uD83D\uDDD2\uFE0F",
  pushpin: "\uD83D\uDCCC",
  round_pushpin: "\uD83D\uDCCD",
  busts_in_silhouette: "\uD83D\uDC65",
  bust_in_silhouette: "\uD83D\uDC64",
  hand: "\u270B",
  raised_hand: "\u270B",
  octagonal_sign: "\uD83D\uDED1",
  recycle: "\u267B\uFE0F",
  repeat: "\uD83D\uDD01",
  arrows_counterclockwise: "\uD83D\uDD04",
  heavy_plus_sign: "\u2795",
  heavy_minus_sign: "\u2796",
  new: "\uD83C\uDD95",
  sos: "\uD83C\uDD98",
  100: "\uD83D\uDCAF",
};

const DAY_MS = 86_400_000;

/** HTML-escapes text for element content and attribute values. */
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** Slack escapes exactly these three in message text; anything else that looks like an entity is text. */
function decodeEntities(text) {
  return text.replace(/&(amp|lt|gt);/g, (_, name) => ({ amp: "&", lt: "<", gt: ">" })[name]);
}

/** `:shortcode:` to the emoji, on text that is already HTML-escaped (colons and names are not touched by escaping). */
function replaceEmoji(html) {
  return html.replace(/:([a-z0-9_+-]+):/g, (whole, name) => (Object.hasOwn(EMOJI, name) ? EMOJI[name] : whole));
}

/**
 * A `plain_text` object's text as HTML: escaped, line breaks kept, and with `emoji` the shortcodes
 * turned into emoji. Nothing else: no bold, no links, no mentions.
 */
export function renderPlainText(text, emoji = false) {
  const escaped = escapeHtml(String(text ?? "").replace(/\r\n?/g, "\n"));
  return (emoji ? replaceEmoji(escaped) : escaped).replace(/\n/g, "<br>");
}

/**
 * A `mrkdwn` text as HTML, the way Slack's client draws it.
 * @param {string} text Slack text, with `&`, `<` and `>` escaped as Slack requires.
 * @param {{ people?: Record<string, {name: string}>, userGroups?: Record<string, {handle: string}>, timeZone?: string, now?: number }} ctx
 */
export function renderMrkdwn(text, ctx = {}) {
  // U+E000 (private use) marks placeholders below; it has no place in Slack text.
  const source = String(text ?? "").replace(/\r\n?/g, "\n").replace(/\uE000/g, "");
  const out = [];
  // ```pre``` blocks first: nothing inside them is formatted.
  const parts = source.split(/```([\s\S]*?)```/);
  for (let i = 0; i < parts.length; i += 1) {
    if (i % 2 === 1) {
      const body = parts[i].replace(/^\n/, "").replace(/\n$/, "");
      out.push(`<pre class="mk-pre">${escapeHtml(decodeEntities(body))}</pre>`);
      continue;
    }
    let segment = parts[i];
    // The line break that separates a text from a pre block belongs to the block.
    if (i > 0) segment = segment.replace(/^\n/, "");
    if (i < parts.length - 1) segment = segment.replace(/\n$/, "");
    if (segment === "" && (i > 0 || i < parts.length - 1)) continue;
    out.push(renderLines(segment, ctx));
  }
  return out.join("");
}

/** Lines with `>` quotes grouped into one quote each, joined with line breaks. */
function renderLines(segment, ctx) {
  const html = [];
  let quote = null;
  const flushQuote = () => {
    if (quote) html.push({ block: true, html: `<blockquote class="mk-quote">${quote.join("<br>")}</blockquote>` });
    quote = null;
  };
  for (const line of segment.split("\n")) {
    const quoted = /^(?:>|&gt;) ?(.*)$/.exec(line);
    if (quoted) {
      quote ??= [];
      quote.push(renderInline(quoted[1], ctx));
      continue;
    }
    flushQuote();
    html.push({ block: false, html: renderInline(line, ctx) });
  }
  flushQuote();
  // A quote is a block: the line break after it is its own end, not an empty line.
  return html.map((part, index) => (index === 0 || part.block || html[index - 1].block ? part.html : `<br>${part.html}`)).join("");
}

// What may stand before an opening marker and after a closing one: Slack formats words, not parts of them.
const BEFORE = "(^|[\\s(\\[{\"'.,;:!?>*_~\\uE000-])";
const AFTER = "(?=$|[\\s)\\]}\"'.,;:!?<&*_~\\uE000-])";
const styleRule = (marker, tag) => {
  const m = `\\${marker}`;
  return { pattern: new RegExp(`${BEFORE}${m}(?=[^\\s${m}])([^${m}\\n]*?[^\\s${m}])${m}${AFTER}`, "g"), tag };
};
const STYLES = [styleRule("*", "b"), styleRule("_", "i"), styleRule("~", "s")];

function renderInline(line, ctx) {
  const held = [];
  const hold = (html) => `\uE000${held.push(html) - 1}\uE000`;
  // Code spans and Slack's <…> tokens are taken out first, so that neither is formatted or escaped twice.
  let text = line.replace(/`([^`]+)`/g, (_, code) => hold(`<code class="mk-code">${escapeHtml(decodeEntities(code))}</code>`));
  text = text.replace(/<([^<>]*)>/g, (_, inner) => hold(renderToken(inner, ctx)));
  let html = replaceEmoji(escapeHtml(decodeEntities(text)));
  for (const { pattern, tag } of STYLES) {
    // Twice: `*a* *b*` shares the space between them as the end of one and the start of the next.
    for (let pass = 0; pass < 2; pass += 1) html = html.replace(pattern, (_, before, inner) => `${before}<${tag}>${inner}</${tag}>`);
  }
  return html.replace(/\uE000(\d+)\uE000/g, (_, index) => held[Number(index)]);
}

/** One `<…>` token: a mention, a special mention, a date or a link. */
function renderToken(inner, ctx) {
  const bar = inner.indexOf("|");
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = bar >= 0 ? inner.slice(bar + 1) : undefined;
  const labelHtml = (fallback) => replaceEmoji(escapeHtml(decodeEntities(label !== undefined && label !== "" ? label : fallback)));

  if (target.startsWith("@")) {
    const id = target.slice(1);
    const name = ctx.people?.[id]?.name ?? (label ? decodeEntities(label).replace(/^@/, "") : id);
    return `<span class="mk-mention" data-user="${escapeHtml(id)}">@${escapeHtml(name)}</span>`;
  }
  if (target.startsWith("#")) {
    const name = label ? decodeEntities(label) : target.slice(1);
    return `<span class="mk-channel">#${escapeHtml(name)}</span>`;
  }
  if (target.startsWith("!")) return renderSpecial(target.slice(1), label, ctx);

  const url = decodeEntities(target);
  // Not a link Slack would make (<script>, a stray bracket): the text as it was written.
  if (label === undefined && !/^[a-z][a-z0-9+.-]*:/i.test(url)) return escapeHtml(`<${decodeEntities(inner)}>`);
  // Only web and mail links are followed; a javascript: or data: link shows as its text.
  if (!/^(https?:\/\/|mailto:)/i.test(url)) return labelHtml(url);
  const shown = label !== undefined && label !== "" ? labelHtml(url) : escapeHtml(url.replace(/^mailto:/i, ""));
  return `<a class="mk-link" href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${shown}</a>`;
}

function renderSpecial(target, label, ctx) {
  if (target === "here" || target === "channel" || target === "everyone") {
    return `<span class="mk-mention mk-broadcast">@${target}</span>`;
  }
  const subteam = /^subteam\^([A-Z0-9]+)$/.exec(target);
  if (subteam) {
    const handle = ctx.userGroups?.[subteam[1]]?.handle ?? (label ? decodeEntities(label).replace(/^@/, "") : subteam[1]);
    return `<span class="mk-mention">@${escapeHtml(handle)}</span>`;
  }
  const date = /^date\^(-?\d+)\^([^^]*)(?:\^(.*))?$/.exec(target);
  if (date) {
    const fallback = decodeEntities(label ?? "");
    const shown = formatSlackDate(Number(date[1]), decodeEntities(date[2]), ctx.timeZone ?? "UTC", ctx.now);
    if (shown === null) return escapeHtml(fallback);
    const link = date[3] !== undefined ? decodeEntities(date[3]) : undefined;
    const body = `<span class="mk-date" title="${escapeHtml(fallback)}">${escapeHtml(shown)}</span>`;
    return link && /^https?:\/\//i.test(link) ? `<a class="mk-link" href="${escapeHtml(link)}" target="_blank" rel="noopener noreferrer">${body}</a>` : body;
  }
  // Unknown special commands show their label, as Slack does.
  return label !== undefined ? escapeHtml(decodeEntities(label)) : escapeHtml(`<!${decodeEntities(target)}>`);
}

// ---- dates and time zones ----

/** A zone the runtime knows, or UTC. */
function safeZone(timeZone) {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return timeZone;
  } catch {
    return "UTC";
  }
}

const partsCache = new Map();

/** The wall clock in `timeZone` at `ms`: year, month (1-12), day, hour (0-23), minute, second, weekday. */
function zonedParts(ms, timeZone) {
  let format = partsCache.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      weekday: "long",
    });
    partsCache.set(timeZone, format);
  }
  const parts = {};
  for (const part of format.formatToParts(new Date(ms))) parts[part.type] = part.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: parts.weekday,
  };
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

function ordinal(day) {
  const tens = day % 100;
  if (tens >= 11 && tens <= 13) return `${day}th`;
  return `${day}${{ 1: "st", 2: "nd", 3: "rd" }[day % 10] ?? "th"}`;
}

const pad = (n) => String(n).padStart(2, "0");

/**
 * A `<!date^…>` format with Slack's tokens, as a person in `timeZone` reads it; null when the
 * timestamp is not a date (the caller shows the fallback).
 * @param {number} unix seconds
 * @param {string} format e.g. "{date_short_pretty} at {time}"
 * @param {string} timeZone IANA zone
 * @param {number} [now] milliseconds since the epoch: what "Today" is
 */
export function formatSlackDate(unix, format, timeZone, now = Date.now()) {
  const ms = unix * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return null;
  const zone = safeZone(timeZone);
  const at = zonedParts(ms, zone);
  const today = zonedParts(now, zone);
  const dayNumber = (p) => Date.UTC(p.year, p.month - 1, p.day) / DAY_MS;
  const relative = { 0: "Today", [-1]: "Yesterday", 1: "Tomorrow" }[dayNumber(at) - dayNumber(today)];
  const month = MONTHS[at.month - 1];
  const hour12 = at.hour % 12 === 0 ? 12 : at.hour % 12;
  const meridiem = at.hour < 12 ? "AM" : "PM";
  const tokens = {
    date_num: `${at.year}-${pad(at.month)}-${pad(at.day)}`,
    date: `${month} ${ordinal(at.day)}, ${at.year}`,
    date_short: `${month.slice(0, 3)} ${at.day}, ${at.year}`,
    date_long: `${at.weekday}, ${month} ${ordinal(at.day)}, ${at.year}`,
    time: `${hour12}:${pad(at.minute)} ${meridiem}`,
    time_secs: `${hour12}:${pad(at.minute)}:${pad(at.second)} ${meridiem}`,
    ago: ago(ms, now),
  };
  tokens.date_pretty = relative ?? tokens.date;
  tokens.date_short_pretty = relative ?? tokens.date_short;
  tokens.date_long_pretty = relative ?? tokens.date_long;
  return format.replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(tokens, name) ? tokens[name] : whole));
}

function ago(ms, now) {
  const seconds = Math.round((now - ms) / 1000);
  const future = seconds < 0;
  const abs = Math.abs(seconds);
  const units = [
    [31_536_000, "year"],
    [2_592_000, "month"],
    [86_400, "day"],
    [3_600, "hour"],
    [60, "minute"],
  ];
  const [size, unit] = units.find(([s]) => abs >= s) ?? [1, "second"];
  const n = Math.floor(abs / size);
  const phrase = `${n} ${unit}${n === 1 ? "" : "s"}`;
  return future ? `in ${phrase}` : `${phrase} ago`;
}

/**
 * A wall-clock date and time in an IANA zone as unix seconds: what a datetimepicker reports for a
 * person in that zone. In a gap (spring forward) the time is read with the offset before the change.
 * @param {string} date "YYYY-MM-DD"
 * @param {string} time "HH:MM" or "HH:MM:SS"
 * @param {string} timeZone
 * @returns {number | null}
 */
export function zonedDateTimeToUnix(date, time, timeZone) {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(date));
  const t = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(String(time));
  if (!d || !t) return null;
  const zone = safeZone(timeZone);
  const wall = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(t[1]), Number(t[2]), Number(t[3] ?? 0));
  if (!Number.isFinite(wall)) return null;
  const offsetAt = (ms) => {
    const p = zonedParts(ms, zone);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
  };
  // The offset at the guess may be the one from the other side of a change; one more step settles it.
  const first = wall - offsetAt(wall);
  const second = wall - offsetAt(first);
  const ms = offsetAt(second) === offsetAt(first) ? second : Math.max(first, second);
  return Math.floor(ms / 1000);
}

/**
 * Unix seconds as the date and time a person in `timeZone` reads on the wall clock.
 * @returns {{ date: string, time: string }}
 */
export function unixToZonedDateTime(unix, timeZone) {
  const p = zonedParts(unix * 1000, safeZone(timeZone));
  return { date: `${p.year}-${pad(p.month)}-${pad(p.day)}`, time: `${pad(p.hour)}:${pad(p.minute)}` };
}
