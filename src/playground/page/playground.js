import { formatSlackDate, renderMrkdwn, renderPlainText, unixToZonedDateTime, zonedDateTimeToUnix } from "./mrkdwn.js";

/**
 * The playground page: sendgate as a person sees it in Slack, drawn from the stand-in's state.
 * One long poll keeps the page current; every click, pick and submission goes to the stand-in as
 * the chosen person, which turns it into the signed request Slack would send to sendgate.
 *
 * Everything from the server reaches the DOM as text nodes or through mrkdwn.js, which escapes it.
 */

const PERSONA_KEY = "sendgate.playground.persona";
/** The state endpoint needs someone to answer for; the people list comes with its first answer. */
const BOOTSTRAP_PERSONA = "U0ALEX";
const SUGGEST_DEBOUNCE_MS = 250;
/** Slack's default for external selects without min_query_length. */
const DEFAULT_MIN_QUERY_LENGTH = 3;
const TOAST_MS = 7000;
const COMMAND = "/sendings";
/**
 * sendgate publishes the Home tab after acknowledging app_home_opened; when nothing has come this
 * long after Slack delivered the event, the tab says so and offers to open it again.
 */
const HOME_PUBLISH_WAIT_MS = 10_000;

const ROLE_HINTS = {
  approver: "An approver: can approve, reject, reschedule and cancel sendings.",
  requester: "Asked for the example sending. An approver too, but never of their own sending (four-eyes rule).",
  stranger: "Not an approver: sendgate answers their clicks with what they may not do.",
};

const app = {
  me: readStoredPersona(),
  /** The persona came from storage (or a choice), not the bootstrap guess. */
  chosen: readStoredPersona() !== null,
  version: -1,
  /** Bumped on every persona switch: answers to an older poll are dropped. */
  generation: 0,
  /** @type {AbortController | null} */
  poll: null,
  state: null,
  /** Mention names, group handles and the time zone: what mrkdwn.js needs. */
  ctx: { people: {}, userGroups: {}, timeZone: "UTC" },
  /** "channel" or "home". */
  view: "channel",
  /**
   * The latest opening of the Home tab: for whom, and where it stands until the view arrives
   * ("loading"; "waiting" once Slack delivered the event; "empty" when nothing came; "failed").
   * @type {{ as: string, status: "loading" | "waiting" | "empty" | "failed", ticket: number } | null}
   */
  homeOpening: null,
  channel: null,
  /** @type {{ channel: string, ts: string } | null} */
  thread: null,
  /** @type {{ id: string, hash: string, root: HTMLElement, inputs: Map<string, () => unknown> } | null} */
  modal: null,
  /** Message counts per channel when last looked at, for the unread marker. */
  seen: {},
  /** Requests running, by element: a second click waits for the first. */
  inFlight: new Set(),
  peopleKey: "",
  /** What every rendered node depends on besides its own JSON: who looks, their zone, names, the day. */
  renderSig: "",
};

/**
 * Rendered messages and blocks, reused while their JSON is unchanged: a re-render then leaves the
 * nodes a person is pointing at (or a busy button) in place, instead of swapping them under them.
 */
const renderCache = new Map();
let cacheRound = 0;

function cached(key, signature, build) {
  const sig = `${app.renderSig}|${signature}`;
  const hit = renderCache.get(key);
  if (hit && hit.sig === sig) {
    hit.round = cacheRound;
    return hit.node;
  }
  const node = build();
  renderCache.set(key, { sig, node, round: cacheRound });
  return node;
}

/** Makes `container`'s children exactly `nodes`, moving only what changed. */
function reconcile(container, nodes) {
  let cursor = container.firstChild;
  for (const node of nodes) {
    if (node === cursor) {
      cursor = cursor.nextSibling;
      continue;
    }
    container.insertBefore(node, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
}
if (app.me === null) app.me = BOOTSTRAP_PERSONA;

const $ = (id) => document.getElementById(id);

// ---- DOM helpers ----

/** An element with attributes and children; strings become text nodes, never markup. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") element.className = value;
    else if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
}

/** HTML produced by mrkdwn.js (escaped there) in an element. */
function rendered(tag, className, html) {
  const element = h(tag, { class: className });
  element.innerHTML = html;
  return element;
}

/** A Block Kit text object (mrkdwn or plain_text) as escaped HTML. */
function textHtml(text) {
  if (!text) return "";
  if (typeof text === "string") return renderPlainText(text, false);
  if (text.type === "mrkdwn") return renderMrkdwn(String(text.text ?? ""), { ...app.ctx, now: Date.now() });
  return renderPlainText(String(text.text ?? ""), text.emoji !== false);
}

const textEl = (text, className = "bk-text", tag = "span") => rendered(tag, className, textHtml(text));

/** The words of a text object, for attributes (placeholders, labels). */
const plainOf = (text) => (text && typeof text === "object" ? String(text.text ?? "") : String(text ?? ""));

let uniqueCounter = 0;
const uniqueId = (prefix) => `${prefix}-${(uniqueCounter += 1)}`;

const isWebUrl = (url) => typeof url === "string" && /^https?:\/\//i.test(url);
/** The page's content policy loads images over https (and data:) only; others show their alt text. */
const isImageUrl = (url) => typeof url === "string" && (/^https:\/\//i.test(url) || /^data:image\//i.test(url));

const unixOfTs = (ts) => Number(String(ts).split(".")[0]);
const compareTs = (a, b) => {
  const [as, au = "0"] = String(a).split(".");
  const [bs, bu = "0"] = String(b).split(".");
  return Number(as) - Number(bs) || Number(au) - Number(bu);
};

function personaTz() {
  return app.state?.people?.find((p) => p.id === app.me)?.tz ?? "UTC";
}

// ---- talking to the server ----

async function post(body) {
  const res = await fetch("/playground/actions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ as: app.me, ...body }),
  });
  let answer = null;
  try {
    answer = await res.json();
  } catch {
    answer = null;
  }
  if (!res.ok || !answer || answer.ok !== true) {
    throw new Error(answer?.message ?? answer?.error ?? `The playground answered HTTP ${res.status}.`);
  }
  return answer;
}

/** An action as the current person; failures become a toast and null. */
async function perform(body) {
  try {
    return await post(body);
  } catch (error) {
    toast(error instanceof Error ? error.message : String(error));
    return null;
  }
}

/** Runs `work` with `control` shown busy; a second press while it runs does nothing. */
async function busy(control, key, work) {
  if (app.inFlight.has(key)) return null;
  app.inFlight.add(key);
  control.classList.add("is-busy");
  control.setAttribute("aria-busy", "true");
  control.disabled = true;
  try {
    return await work();
  } finally {
    app.inFlight.delete(key);
    control.classList.remove("is-busy");
    control.removeAttribute("aria-busy");
    control.disabled = false;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The long poll: the server answers when the state is newer than what the page shows, or after 25 s. */
async function pollLoop() {
  let failures = 0;
  for (;;) {
    const generation = app.generation;
    const controller = new AbortController();
    app.poll = controller;
    const params = new URLSearchParams({ as: app.me });
    if (app.version >= 0) params.set("after", String(app.version));
    try {
      const res = await fetch(`/playground/state?${params}`, { signal: controller.signal, cache: "no-store" });
      const body = await res.json().catch(() => null);
      if (generation !== app.generation) continue;
      if (!res.ok || !body) {
        // A remembered person the playground no longer has: start again from the default.
        if (res.status === 400 && app.version < 0 && app.me !== BOOTSTRAP_PERSONA) {
          forgetPersona();
          app.me = BOOTSTRAP_PERSONA;
          app.chosen = false;
          continue;
        }
        throw new Error(body?.message ?? `HTTP ${res.status}`);
      }
      failures = 0;
      showConnection(null);
      if (body.me !== app.me) continue;
      if (body.version !== app.version || app.state === null) applyState(body);
    } catch (error) {
      if (controller.signal.aborted || generation !== app.generation) continue;
      failures += 1;
      showConnection(`Reconnecting to sendgate… (${error instanceof Error ? error.message : String(error)})`);
      await sleep(Math.min(5000, 250 * 2 ** failures));
    }
  }
}

function showConnection(problem) {
  const element = $("connection");
  element.hidden = problem === null;
  element.textContent = problem ?? "";
}

// ---- state ----

function applyState(state) {
  app.state = state;
  app.version = state.version;
  const people = {};
  for (const person of state.people ?? []) people[person.id] = { name: person.realName || person.name };
  for (const list of Object.values(state.messages ?? {})) {
    for (const message of list) {
      for (const m of [message, ...(message.replies ?? [])]) if (m.user && !people[m.user]) people[m.user] = { name: m.userName || m.user };
    }
  }
  app.ctx = { people, userGroups: state.userGroups ?? {}, timeZone: personaTz() };
  app.renderSig = JSON.stringify([app.me, app.ctx, formatSlackDate(Date.now() / 1000, "{date_num}", app.ctx.timeZone)]);
  cacheRound += 1;

  if (!app.chosen) {
    // Nobody chosen yet: the first approver, as the page promises.
    const first = (state.people ?? []).find((p) => p.role === "approver") ?? state.people?.[0];
    app.chosen = true;
    if (first && first.id !== app.me) {
      switchPersona(first.id, false);
      return;
    }
  }

  const channels = state.channels ?? [];
  if (app.channel === null || !channels.some((c) => c.id === app.channel)) app.channel = channels.find((c) => c.kind === "channel")?.id ?? channels[0]?.id ?? null;
  if (app.thread && !(state.messages?.[app.thread.channel] ?? []).some((m) => m.ts === app.thread.ts)) app.thread = null;

  $("team-name").textContent = state.team ?? "Workspace";
  renderPersonaPicker();
  renderMain();
  renderThread();
  renderSidebar();
  renderModal(state.modals ?? []);
  $("app").classList.remove("is-loading");
  for (const [key, entry] of renderCache) if (entry.round !== cacheRound) renderCache.delete(key);
}

function readStoredPersona() {
  try {
    return window.localStorage.getItem(PERSONA_KEY);
  } catch {
    return null;
  }
}

function forgetPersona() {
  try {
    window.localStorage.removeItem(PERSONA_KEY);
  } catch {
    // Storage refused (private mode): the choice lasts for this page only.
  }
}

function switchPersona(id, remember = true) {
  if (remember) {
    try {
      window.localStorage.setItem(PERSONA_KEY, id);
    } catch {
      // Storage refused: the choice lasts for this page only.
    }
  }
  app.me = id;
  app.chosen = true;
  app.generation += 1;
  app.version = -1;
  app.state = null;
  app.seen = {};
  closeConfirm();
  removeModal();
  $("app").classList.add("is-loading");
  const picker = $("persona");
  if (picker.value !== id) picker.value = id;
  app.poll?.abort();
  // Someone else looking at the Home tab has opened it: Slack tells sendgate, which publishes theirs.
  if (app.view === "home") void requestHome();
}

// ---- sidebar ----

function renderPersonaPicker() {
  const picker = $("persona");
  const people = app.state.people ?? [];
  const key = JSON.stringify(people.map((p) => [p.id, p.realName, p.role]));
  if (key !== app.peopleKey) {
    app.peopleKey = key;
    picker.replaceChildren(...people.map((p) => h("option", { value: p.id }, `${p.realName} · ${p.role}`)));
  }
  picker.value = app.me;
  const me = people.find((p) => p.id === app.me);
  $("persona-hint").textContent = me ? `${ROLE_HINTS[me.role] ?? ""} Times show in ${me.tz}.` : "";
}

function messageCount(channelId) {
  const messages = app.state.messages?.[channelId] ?? [];
  const replies = messages.reduce((n, m) => n + (m.replies?.length ?? 0), 0);
  const ephemerals = (app.state.ephemerals ?? []).filter((e) => e.channel === channelId).length;
  return messages.length + replies + ephemerals;
}

function renderSidebar() {
  const channels = app.state.channels ?? [];
  const item = (channel, label, extra) => {
    const current = app.view === "channel" && app.channel === channel.id;
    const count = messageCount(channel.id);
    // What was there when the page first saw the channel counts as read.
    if (current || !(channel.id in app.seen)) app.seen[channel.id] = count;
    const unread = !current && count > (app.seen[channel.id] ?? 0);
    return h(
      "button",
      {
        type: "button",
        class: `nav-item${current ? " is-current" : ""}${unread ? " is-unread" : ""}`,
        "data-testid": `channel-${channel.id}`,
        "aria-current": current ? "page" : null,
        onclick: () => openChannel(channel.id),
      },
      label,
      extra,
    );
  };
  const publicChannels = channels.filter((c) => c.kind !== "im");
  const ims = channels.filter((c) => c.kind === "im");
  const homeCurrent = app.view === "home";
  $("nav").replaceChildren(
    h("h2", { class: "nav-heading" }, "Channels"),
    ...publicChannels.map((c) => item(c, [h("span", { class: "nav-hash", "aria-hidden": "true" }, "#"), c.name])),
    h("h2", { class: "nav-heading" }, "Direct messages"),
    ...(ims.length > 0
      ? ims.map((c) => item(c, [h("span", { class: "nav-dot", "aria-hidden": "true" }), c.name], h("span", { class: "app-badge" }, "APP")))
      : [h("p", { class: "nav-empty" }, "None yet: sendgate writes here when it has something for you.")]),
    h("h2", { class: "nav-heading" }, "Apps"),
    h(
      "button",
      { type: "button", class: `nav-item${homeCurrent ? " is-current" : ""}`, "data-testid": "home", "aria-current": homeCurrent ? "page" : null, onclick: openHome },
      h("span", { class: "nav-dot", "aria-hidden": "true" }),
      "sendgate Home",
    ),
  );
}

function openChannel(id) {
  app.view = "channel";
  if (app.channel !== id) app.thread = null;
  app.channel = id;
  forceBottom = true;
  renderMain();
  renderThread();
  renderSidebar();
  $("composer").focus();
}

function openHome() {
  app.view = "home";
  app.thread = null;
  void requestHome();
  renderMain();
  renderThread();
  renderSidebar();
}

let homeTickets = 0;

/** Opens the Home tab as Slack does: app_home_opened goes to sendgate, whose views.publish comes back with a later state. */
async function requestHome() {
  const opening = { as: app.me, status: "loading", ticket: (homeTickets += 1) };
  app.homeOpening = opening;
  const current = () => app.homeOpening === opening && app.me === opening.as;
  const show = (status) => {
    if (!current()) return;
    opening.status = status;
    if (app.view === "home" && app.state) renderMain();
  };
  const answer = await perform({ action: "openHome" });
  if (!answer) return show("failed");
  show("waiting");
  setTimeout(() => {
    if (!homeOf(opening.as)) show("empty");
  }, HOME_PUBLISH_WAIT_MS);
}

/** The Home view the state holds for `as`, when the page shows that person. */
function homeOf(as) {
  return app.state && app.me === as && app.state.home?.view ? app.state.home : null;
}

// ---- the channel ----

let forceBottom = true;
let shownChannel = null;

function renderMain() {
  const title = $("main-title");
  const topic = $("main-topic");
  const list = $("messages");
  const form = $("composer-form");
  if (app.view === "home") {
    renderHome(title, topic, list);
    form.hidden = true;
    return;
  }
  const channel = (app.state.channels ?? []).find((c) => c.id === app.channel);
  form.hidden = channel === undefined;
  if (!channel) {
    title.textContent = "No channels";
    topic.textContent = "";
    list.replaceChildren(h("div", { class: "empty" }, "This person sees no channel."));
    return;
  }
  title.replaceChildren(channel.kind === "im" ? channel.name : h("span", {}, h("span", { class: "title-hash", "aria-hidden": "true" }, "#"), channel.name));
  topic.textContent = channel.kind === "im" ? "Direct messages with the sendgate app" : "Approval cards for every sending; their threads hold the history.";
  $("composer").placeholder = channel.kind === "im" ? "Message sendgate: /sendings pending" : `Message #${channel.name}: /sendings pending`;

  const entries = [
    ...(app.state.messages?.[channel.id] ?? []).map((message) => ({ ts: message.ts, message })),
    ...(app.state.ephemerals ?? []).filter((e) => e.channel === channel.id).map((ephemeral) => ({ ts: ephemeral.ts, ephemeral })),
  ].sort((a, b) => compareTs(a.ts, b.ts));

  const switched = shownChannel !== channel.id;
  shownChannel = channel.id;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
  const scrollTop = list.scrollTop;
  const kept = snapshotInputs(list);

  const items = [];
  let lastDay = null;
  for (const entry of entries) {
    const day = formatSlackDate(unixOfTs(entry.ts), "{date_long_pretty}", personaTz());
    if (day !== lastDay) {
      items.push(cached(`day|${day}`, "", () => h("div", { class: "day-divider", role: "separator" }, h("span", {}, day))));
      lastDay = day;
    }
    items.push(
      entry.message
        ? renderMessage(entry.message, { channel: channel.id, ts: entry.message.ts }, { testid: `message-${entry.message.ts}`, withReplies: true, place: "channel" })
        : renderEphemeral(entry.ephemeral),
    );
  }
  if (items.length === 0) {
    items.push(
      h(
        "div",
        { class: "empty" },
        h("p", {}, "Nothing here yet."),
        h("p", {}, "Create a sending through sendgate's API or CLI (", h("code", {}, "npm run sendgate -- create examples/spring-newsletter.json"), ") and its approval card appears here."),
      ),
    );
  }
  reconcile(list, items);
  restoreInputs(list, kept);
  if (forceBottom || switched || atBottom) list.scrollTop = list.scrollHeight;
  else list.scrollTop = scrollTop;
  forceBottom = false;
}

/** What renderMain last showed in the message list when it was the Home tab. */
const HOME_SHOWN = "home";

/** The app's Home tab: its blocks as sendgate published them, clicked through the stand-in like a modal's. */
function renderHome(title, topic, list) {
  title.replaceChildren("sendgate", " ", h("span", { class: "app-badge" }, "APP"));
  topic.textContent = "Home";
  const switched = shownChannel !== HOME_SHOWN;
  shownChannel = HOME_SHOWN;
  const home = homeOf(app.me);
  if (home) {
    const content = cached(`home|${home.id}`, "", () => h("div", { class: "home", "data-testid": "home-view", "data-view-id": home.id }));
    reconcile(content, renderBlocks(home.view.blocks ?? [], { view: home.id }, { place: "home" }));
    reconcile(list, [content]);
  } else {
    reconcile(list, [homePlaceholder()]);
  }
  if (switched) list.scrollTop = 0;
}

/** Before sendgate's view arrives: opening, or nothing came (with a way to open it again). */
function homePlaceholder() {
  const status = app.homeOpening?.as === app.me ? app.homeOpening.status : "loading";
  if (status === "loading" || status === "waiting") {
    return h("div", { class: "empty home-loading", role: "status", "data-testid": "home-loading" }, h("span", { class: "spinner", "aria-hidden": "true" }), h("p", {}, "Opening sendgate's Home…"));
  }
  const retry = h("button", { type: "button", class: "bk-button", "data-testid": "home-retry" }, "Open Home again");
  retry.addEventListener("click", () => {
    void requestHome();
    renderMain();
  });
  return h(
    "div",
    { class: "empty", "data-testid": "home-empty" },
    h("p", {}, status === "failed" ? "The Home tab did not open: Slack could not tell sendgate." : "sendgate has not published a Home tab for you yet."),
    h("p", {}, "sendgate publishes it each time you open it here, and keeps it current while you look."),
    retry,
  );
}

function initials(name) {
  const words = String(name ?? "?").trim().split(/\s+/);
  return (words.length > 1 ? words[0][0] + words[1][0] : String(name ?? "?").slice(0, 2)).toUpperCase();
}

function avatar(message) {
  return h("div", { class: `avatar${message.isBot ? " avatar-bot" : ""}`, "aria-hidden": "true" }, message.isBot ? "sg" : initials(message.userName));
}

function timeEl(ts) {
  const unix = unixOfTs(ts);
  const tz = personaTz();
  return h(
    "time",
    { class: "message-time", datetime: new Date(unix * 1000).toISOString(), title: formatSlackDate(unix, "{date_long} at {time_secs}", tz) },
    formatSlackDate(unix, "{time}", tz),
  );
}

function messageMeta(message) {
  return h("div", { class: "message-meta" }, h("span", { class: "message-author" }, message.userName || message.user || "unknown"), message.isBot ? h("span", { class: "app-badge" }, "APP") : null, timeEl(message.ts));
}

function messageContent(message, surface, place) {
  const content = h("div", { class: "message-content" });
  const edited = message.edited ? h("span", { class: "edited" }, "(edited)") : null;
  if (Array.isArray(message.blocks) && message.blocks.length > 0) {
    // After the blocks, outside them: the cached block nodes stay as they are when a message becomes edited.
    append(content, [renderBlocks(message.blocks, surface, { place }), edited]);
  } else {
    // Slack writes "(edited)" right after the last words of a text message.
    content.append(rendered("div", "bk-text message-text", renderMrkdwn(String(message.text ?? ""), { ...app.ctx, now: Date.now() })));
    content.lastChild.append(edited ?? "");
  }
  return content;
}

function renderMessage(message, surface, { testid, withReplies, place }) {
  const open = Boolean(withReplies && app.thread && app.thread.ts === message.ts && app.thread.channel === surface.channel);
  return cached(`message|${place}|${surfaceKey(surface)}`, JSON.stringify([message, testid, withReplies, open]), () => buildMessage(message, surface, { testid, withReplies, place, open }));
}

function buildMessage(message, surface, { testid, withReplies, place, open }) {
  const replies = message.replies ?? [];
  return h(
    "article",
    { class: `message${open ? " is-thread-open" : ""}`, "data-testid": testid, "aria-label": `${message.userName || "message"} at ${formatSlackDate(unixOfTs(message.ts), "{time}", personaTz())}` },
    avatar(message),
    h(
      "div",
      { class: "message-body" },
      messageMeta(message),
      messageContent(message, surface, place),
      withReplies && replies.length > 0 ? repliesLink(message, surface, place) : null,
    ),
  );
}

function repliesLink(message, surface, place) {
  const replies = message.replies ?? [];
  const last = formatSlackDate(unixOfTs(replies.at(-1).ts), "{date_short_pretty} at {time}", personaTz()).replace(/^(Today|Yesterday|Tomorrow)/, (w) => w.toLowerCase());
  const count = `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`;
  return cached(`replies|${place}|${surfaceKey(surface)}`, JSON.stringify([count, last]), () =>
    h(
      "button",
      { type: "button", class: "replies-link", "data-testid": `replies-${message.ts}`, onclick: () => openThread(surface.channel, message.ts) },
      h("span", { class: "replies-count" }, count),
      h("span", { class: "replies-last" }, `Last reply ${last}`),
    ),
  );
}

function renderEphemeral(ephemeral) {
  return cached(`ephemeral|${ephemeral.ts}`, JSON.stringify(ephemeral), () => buildEphemeral(ephemeral));
}

function buildEphemeral(ephemeral) {
  const message = { ...ephemeral, user: "", userName: "sendgate", isBot: true };
  return h(
    "article",
    { class: "message ephemeral", "data-testid": `ephemeral-${ephemeral.ts}`, "aria-label": "Only visible to you" },
    avatar(message),
    h(
      "div",
      { class: "message-body" },
      h("div", { class: "ephemeral-note" }, h("span", { class: "ephemeral-eye", "aria-hidden": "true" }, "\u{1F441}"), "Only visible to you"),
      messageMeta(message),
      messageContent(message, { ephemeral: ephemeral.ts }, "channel"),
    ),
  );
}

// ---- the thread ----

function openThread(channel, ts) {
  app.thread = { channel, ts };
  renderThread();
  renderMain();
}

function closeThread() {
  app.thread = null;
  renderThread();
  renderMain();
}

let shownThread = null;

function renderThread() {
  const slot = $("thread-slot");
  const thread = app.thread;
  const parent = thread && app.view === "channel" ? (app.state?.messages?.[thread.channel] ?? []).find((m) => m.ts === thread.ts) : undefined;
  if (!parent) {
    slot.replaceChildren();
    $("app").classList.remove("has-thread");
    shownThread = null;
    return;
  }
  $("app").classList.add("has-thread");
  const key = `${thread.channel}/${thread.ts}`;
  let scroll = slot.querySelector(".thread-scroll");
  const same = shownThread === key && scroll !== null;
  const atBottom = same ? scroll.scrollHeight - scroll.scrollTop - scroll.clientHeight < 48 : true;
  const scrollTop = same ? scroll.scrollTop : 0;
  const kept = same ? snapshotInputs(scroll) : new Map();
  if (!same) {
    const channel = (app.state.channels ?? []).find((c) => c.id === thread.channel);
    scroll = h("div", { class: "thread-scroll" });
    slot.replaceChildren(
      h(
        "aside",
        { class: "thread", "data-testid": "thread", "aria-label": "Thread" },
        h(
          "header",
          { class: "thread-header" },
          h("div", {}, h("h2", { class: "thread-title" }, "Thread"), h("span", { class: "thread-channel" }, channel ? (channel.kind === "im" ? channel.name : `#${channel.name}`) : "")),
          h("button", { type: "button", class: "icon-button", "aria-label": "Close thread", onclick: closeThread }, "\u00D7"),
        ),
        scroll,
      ),
    );
  }
  const replies = parent.replies ?? [];
  const count = `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`;
  reconcile(scroll, [
    renderMessage(parent, { channel: thread.channel, ts: parent.ts }, { testid: `thread-parent-${parent.ts}`, withReplies: false, place: "thread" }),
    cached(`replies-divider|${key}`, count, () => h("div", { class: "replies-divider", role: "separator" }, h("span", {}, count))),
    ...replies.map((reply) => renderMessage(reply, { channel: thread.channel, ts: reply.ts }, { testid: `reply-${reply.ts}`, withReplies: false, place: "thread" })),
  ]);
  restoreInputs(scroll, kept);
  scroll.scrollTop = !same || atBottom ? scroll.scrollHeight : scrollTop;
  shownThread = key;
}

// ---- keeping what the person typed across re-renders ----

function snapshotInputs(root) {
  const kept = new Map();
  for (const element of root.querySelectorAll("[data-keep]")) {
    kept.set(element.getAttribute("data-keep"), {
      value: element.value,
      checked: element.checked,
      focused: element === document.activeElement,
      selection: element === document.activeElement && typeof element.selectionStart === "number" ? [element.selectionStart, element.selectionEnd] : null,
      option: element.selectedOption,
    });
  }
  return kept;
}

function restoreInputs(root, kept) {
  if (kept.size === 0) return;
  for (const element of root.querySelectorAll("[data-keep]")) {
    const was = kept.get(element.getAttribute("data-keep"));
    if (!was) continue;
    if (element.type === "radio" || element.type === "checkbox") element.checked = was.checked;
    else element.value = was.value;
    if (was.option !== undefined) element.selectedOption = was.option;
    if (was.focused) {
      element.focus();
      if (was.selection) {
        try {
          element.setSelectionRange(was.selection[0], was.selection[1]);
        } catch {
          // Not every input type has a selection (date, time).
        }
      }
    }
  }
}

// ---- Block Kit ----

/** Where a click happened, for the actions endpoint: a message, an ephemeral message or a view (a modal, the Home tab). */
const surfaceKey = (surface) => ("view" in surface ? `view:${surface.view}` : "ephemeral" in surface ? `eph:${surface.ephemeral}` : `msg:${surface.channel}:${surface.ts}`);

/** Blocks as nodes. With `place` (where a message is shown: channel or thread) they are cached by surface and position. */
function renderBlocks(blocks, surface, options = {}) {
  return blocks.map((block, index) => {
    const build = () => {
      try {
        return renderBlock(block ?? {}, { surface, blockIndex: index, blockId: block?.block_id ?? `block-${index}`, inputs: options.inputs });
      } catch {
        return unsupported(`block: ${String(block?.type)}`);
      }
    };
    if (!options.place) return build();
    return cached(`block|${options.place}|${surfaceKey(surface)}|${index}`, JSON.stringify(block), build);
  });
}

const unsupported = (what) => h("div", { class: "bk-unsupported" }, `[unsupported ${what}]`);

function renderBlock(block, ctx) {
  switch (block.type) {
    case "header":
      return h("div", { class: "bk-header", role: "heading", "aria-level": "3" }, textEl(block.text));
    case "section":
      return renderSection(block, ctx);
    case "context":
      return h(
        "div",
        { class: "bk-context" },
        (block.elements ?? []).map((element) => (element.type === "image" ? image(element.image_url, element.alt_text, "bk-context-image") : textEl(element, "bk-context-text"))),
      );
    case "divider":
      return h("hr", { class: "bk-divider" });
    case "actions":
      return h("div", { class: "bk-actions", role: "group" }, (block.elements ?? []).map((element) => renderElement(element, ctx)));
    case "input":
      return renderInput(block, ctx);
    case "image":
      return h("figure", { class: "bk-image" }, block.title ? h("figcaption", { class: "bk-image-title" }, textEl(block.title)) : null, image(block.image_url, block.alt_text, "bk-image-img"));
    default:
      return unsupported(`block: ${String(block.type)}`);
  }
}

function image(url, alt, className) {
  if (!isImageUrl(url)) return h("span", { class: `${className} bk-image-missing`, role: "img", "aria-label": alt ?? "image" }, alt ?? "image");
  return h("img", { class: className, src: url, alt: alt ?? "", loading: "lazy", referrerpolicy: "no-referrer" });
}

function renderSection(block, ctx) {
  const main = h("div", { class: "bk-section-main" });
  if (block.text) main.append(textEl(block.text, "bk-text bk-section-text", "div"));
  if (Array.isArray(block.fields) && block.fields.length > 0) main.append(h("div", { class: "bk-fields" }, block.fields.map((field) => textEl(field, "bk-text bk-field", "div"))));
  const accessory = block.accessory ? h("div", { class: "bk-accessory" }, renderElement(block.accessory, ctx)) : null;
  return h("div", { class: `bk-section${accessory ? " has-accessory" : ""}` }, main, accessory);
}

function renderElement(element, ctx) {
  switch (element.type) {
    case "button":
      return renderButton(element, ctx);
    case "overflow":
      return renderOverflow(element, ctx);
    case "static_select":
      return renderStaticSelect(element, ctx);
    case "external_select":
      return renderExternalSelect(element, ctx);
    case "datepicker":
      return h("input", { type: "date", class: "bk-control bk-date", value: element.initial_date ?? "", disabled: true, "aria-label": plainOf(element.placeholder) || "Date", title: "Date pickers in messages are not wired in the playground." });
    case "radio_buttons":
      return renderRadios(element, ctx);
    case "image":
      return image(element.image_url, element.alt_text, "bk-accessory-image");
    default:
      return unsupported(`element: ${String(element.type)}`);
  }
}

function renderButton(element, ctx) {
  const styleClass = element.style === "primary" ? " bk-primary" : element.style === "danger" ? " bk-danger" : "";
  const button = h(
    "button",
    {
      type: "button",
      class: `bk-button${styleClass}${element.url ? " bk-link-button" : ""}`,
      "data-testid": `button-${element.action_id}`,
      "aria-label": element.accessibility_label ?? null,
      title: element.url && isWebUrl(element.url) ? element.url : null,
    },
    textEl(element.text, "bk-button-text"),
    element.url ? h("span", { class: "bk-external", "aria-hidden": "true" }, "\u2197") : null,
  );
  // Blocks may repeat an action_id (one Pause per sending on the Home tab): the block and the value say which one.
  const key = `${surfaceKey(ctx.surface)}|${ctx.blockIndex}|${element.action_id}`;
  const run = () => {
    // Slack opens the link and still tells the app about the click.
    if (element.url && isWebUrl(element.url)) window.open(element.url, "_blank", "noopener,noreferrer");
    return busy(button, key, () => perform({ action: "click", surface: ctx.surface, actionId: element.action_id, block: ctx.blockIndex, value: element.value }));
  };
  button.addEventListener("click", () => {
    if (app.inFlight.has(key)) return;
    if (element.confirm) openConfirm(element.confirm, run);
    else void run();
  });
  return button;
}

/** An option as the actions endpoint takes it. */
const optionOf = (option) => ({ text: option.text, value: option.value });

function pick(ctx, element, option, control) {
  const send = () =>
    busy(control, `${surfaceKey(ctx.surface)}|${ctx.blockIndex}|${element.action_id}`, () =>
      perform({ action: "pick", surface: ctx.surface, actionId: element.action_id, option: optionOf(option), block: ctx.blockIndex }),
    );
  const confirm = element.confirm;
  if (confirm) openConfirm(confirm, send);
  else void send();
}

function renderOverflow(element, ctx) {
  const menuId = uniqueId("menu");
  const toggle = h("button", { type: "button", class: "bk-button bk-overflow-toggle", "aria-label": "More actions", "aria-haspopup": "menu", "aria-expanded": "false", "aria-controls": menuId, "data-testid": `overflow-${element.action_id}` }, "\u22EE");
  const menu = h(
    "div",
    { class: "bk-menu", id: menuId, role: "menu", hidden: true },
    (element.options ?? []).map((option) =>
      h(
        "button",
        {
          type: "button",
          class: "bk-menu-item",
          role: "menuitem",
          "data-testid": `overflow-option-${option.value}`,
          onclick: () => {
            closeMenus();
            if (option.url && isWebUrl(option.url)) window.open(option.url, "_blank", "noopener,noreferrer");
            pick(ctx, element, option, toggle);
          },
        },
        textEl(option.text),
      ),
    ),
  );
  toggle.addEventListener("click", (event) => {
    event.stopPropagation();
    const opening = menu.hidden;
    closeMenus();
    menu.hidden = !opening;
    toggle.setAttribute("aria-expanded", String(opening));
    if (opening) {
      // Like Slack, a menu near the bottom of the pane opens upwards rather than under the composer.
      menu.classList.remove("bk-menu-up");
      const pane = toggle.closest("#messages, .thread-scroll, .modal-body") ?? document.body;
      if (menu.getBoundingClientRect().bottom > pane.getBoundingClientRect().bottom) menu.classList.add("bk-menu-up");
      menu.querySelector("button")?.focus();
    }
  });
  return h("div", { class: "bk-overflow" }, toggle, menu);
}

function closeMenus() {
  for (const menu of document.querySelectorAll(".bk-menu:not([hidden])")) {
    menu.hidden = true;
    menu.parentElement?.querySelector("[aria-expanded]")?.setAttribute("aria-expanded", "false");
  }
}

/** Options of a select, flat, with option groups' options in order. */
const optionsOf = (element) => [...(element.options ?? []), ...(element.option_groups ?? []).flatMap((group) => group.options ?? [])];

function selectControl(element, { id, keep, label }) {
  const select = h("select", { class: "bk-control bk-select", id, "data-keep": keep, "data-testid": `select-${element.action_id}`, "aria-label": label || plainOf(element.placeholder) || "Choose an option" });
  const initial = element.initial_option?.value;
  select.append(h("option", { value: "", disabled: true, selected: initial === undefined }, plainOf(element.placeholder) || "Select an option"));
  const option = (o) => h("option", { value: o.value, selected: o.value === initial }, plainOf(o.text));
  for (const o of element.options ?? []) select.append(option(o));
  for (const group of element.option_groups ?? []) select.append(h("optgroup", { label: plainOf(group.label) }, (group.options ?? []).map(option)));
  return select;
}

function renderStaticSelect(element, ctx) {
  const select = selectControl(element, { keep: `${surfaceKey(ctx.surface)}|${element.action_id}|select` });
  select.addEventListener("change", () => {
    const option = optionsOf(element).find((o) => o.value === select.value);
    if (option) pick(ctx, element, option, select);
  });
  return select;
}

function radioGroup(element, { name, keep, labelledBy, onChange }) {
  const initial = element.initial_option?.value;
  return h(
    "div",
    { class: "bk-radios", role: "radiogroup", "aria-labelledby": labelledBy ?? null, "aria-label": labelledBy ? null : "Options" },
    (element.options ?? []).map((option) => {
      const id = uniqueId("radio");
      const input = h("input", { type: "radio", id, name, value: option.value, checked: option.value === initial, "data-keep": `${keep}|${option.value}` });
      if (onChange) input.addEventListener("change", () => onChange(option, input));
      return h("div", { class: "bk-radio" }, input, h("label", { for: id }, textEl(option.text), option.description ? textEl(option.description, "bk-radio-description", "div") : null));
    }),
  );
}

function renderRadios(element, ctx) {
  return radioGroup(element, {
    name: uniqueId("radios"),
    keep: `${surfaceKey(ctx.surface)}|${element.action_id}|radio`,
    onChange: (option, input) => pick(ctx, element, option, input),
  });
}

/**
 * An external select: the person types, the app suggests (after min_query_length characters,
 * debounced), and picking an option either sends `pick` or, inside an input block, becomes the value.
 */
function renderExternalSelect(element, ctx, input = null) {
  const listId = uniqueId("listbox");
  const field = h("input", {
    type: "text",
    class: "bk-control bk-combo-input",
    id: input?.id ?? null,
    role: "combobox",
    autocomplete: "off",
    spellcheck: "false",
    "aria-autocomplete": "list",
    "aria-expanded": "false",
    "aria-controls": listId,
    "aria-label": input ? null : plainOf(element.placeholder) || "Search",
    placeholder: plainOf(element.placeholder),
    value: element.initial_option ? plainOf(element.initial_option.text) : "",
    "data-keep": input?.keep ?? null,
  });
  if (input && element.initial_option) field.selectedOption = optionOf(element.initial_option);
  const list = h("ul", { class: "bk-listbox", id: listId, role: "listbox", hidden: true });
  const wrap = h("div", { class: "bk-combo", "data-testid": `select-${element.action_id}` }, field, h("span", { class: "bk-combo-caret", "aria-hidden": "true" }, "\u25BE"), list);
  const minLength = typeof element.min_query_length === "number" ? element.min_query_length : DEFAULT_MIN_QUERY_LENGTH;
  let timer = null;
  let asked = 0;
  let options = [];
  let active = -1;

  const hide = () => {
    list.hidden = true;
    field.setAttribute("aria-expanded", "false");
    field.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const showNote = (note) => {
    list.replaceChildren(h("li", { class: "bk-listbox-note", role: "presentation" }, note));
    list.hidden = false;
    field.setAttribute("aria-expanded", "true");
  };
  const choose = (option) => {
    hide();
    field.value = plainOf(option.text);
    if (input) field.selectedOption = optionOf(option);
    else pick(ctx, element, option, field);
  };
  const highlight = (index) => {
    const items = list.querySelectorAll("[role=option]");
    items.forEach((item, i) => item.setAttribute("aria-selected", String(i === index)));
    active = index;
    if (items[index]) field.setAttribute("aria-activedescendant", items[index].id);
  };
  const show = (found) => {
    options = found;
    if (found.length === 0) return showNote("No matches");
    list.replaceChildren(
      ...found.map((option) => {
        const item = h("li", { class: "bk-listbox-option", role: "option", id: uniqueId("option"), "aria-selected": "false", "data-testid": `option-${option.value}` }, textEl(option.text));
        // Keeps the focus in the field, so the list is not closed by its blur before the click lands.
        item.addEventListener("mousedown", (event) => event.preventDefault());
        item.addEventListener("click", () => choose(option));
        return item;
      }),
    );
    list.hidden = false;
    field.setAttribute("aria-expanded", "true");
    active = -1;
  };
  const suggest = async (query) => {
    const ticket = (asked += 1);
    showNote("Searching…");
    try {
      const answer = await post({ action: "suggest", surface: ctx.surface, actionId: element.action_id, query });
      if (ticket === asked && document.activeElement === field) show(Array.isArray(answer.options) ? answer.options : []);
    } catch (error) {
      if (ticket === asked) {
        hide();
        toast(error instanceof Error ? error.message : String(error));
      }
    }
  };

  field.addEventListener("input", () => {
    if (input) field.selectedOption = undefined;
    clearTimeout(timer);
    const query = field.value;
    if (query.length < minLength) {
      asked += 1;
      if (minLength > 0 && query.length > 0) showNote(`Type at least ${minLength} characters`);
      else hide();
      return;
    }
    timer = setTimeout(() => void suggest(query), SUGGEST_DEBOUNCE_MS);
  });
  field.addEventListener("focus", () => {
    if (minLength === 0 && field.value === "") timer = setTimeout(() => void suggest(""), SUGGEST_DEBOUNCE_MS);
  });
  field.addEventListener("blur", () => {
    clearTimeout(timer);
    hide();
  });
  field.addEventListener("keydown", (event) => {
    if (list.hidden || options.length === 0) {
      if (event.key === "Escape" && !list.hidden) {
        event.stopPropagation();
        hide();
      }
      return;
    }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + options.length) % options.length);
    } else if (event.key === "Enter") {
      event.preventDefault();
      event.stopPropagation();
      if (active >= 0) choose(options[active]);
    } else if (event.key === "Escape") {
      event.stopPropagation();
      hide();
    }
  });
  return wrap;
}

// ---- input blocks (modals) ----

function renderInput(block, ctx) {
  const element = block.element ?? {};
  const blockId = block.block_id ?? ctx.blockId;
  const id = uniqueId("input");
  const labelId = uniqueId("label");
  const errorId = uniqueId("error");
  const keep = `input|${blockId}|${element.action_id}`;
  const hintId = block.hint ? uniqueId("hint") : null;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ");
  let control;
  /** What the submission sends for this block; undefined leaves it out (nothing chosen). */
  let read = () => undefined;

  switch (element.type) {
    case "plain_text_input":
    case "email_text_input":
    case "url_text_input":
    case "number_input": {
      const type = { email_text_input: "email", url_text_input: "url", number_input: "text" }[element.type] ?? "text";
      const attributes = { id, class: "bk-control bk-text-input", placeholder: plainOf(element.placeholder) || null, "data-keep": keep, "aria-describedby": describedBy, "aria-required": block.optional ? null : "true" };
      control = element.multiline ? h("textarea", { ...attributes, rows: 4 }) : h("input", { ...attributes, type, inputmode: element.type === "number_input" ? "decimal" : null });
      control.value = element.initial_value ?? "";
      read = () => control.value;
      break;
    }
    case "datetimepicker": {
      const tz = personaTz();
      const initial = typeof element.initial_date_time === "number" ? unixToZonedDateTime(element.initial_date_time, tz) : { date: "", time: "" };
      const date = h("input", { type: "date", id, class: "bk-control bk-date", value: initial.date, "data-keep": `${keep}|date`, "aria-describedby": describedBy, "aria-label": "Date" });
      const time = h("input", { type: "time", class: "bk-control bk-time", value: initial.time, step: 60, "data-keep": `${keep}|time`, "aria-describedby": describedBy, "aria-label": "Time" });
      control = h("div", { class: "bk-datetime" }, date, time, h("span", { class: "bk-tz" }, tz));
      read = () => (date.value && time.value ? (zonedDateTimeToUnix(date.value, time.value, tz) ?? undefined) : undefined);
      break;
    }
    case "datepicker": {
      control = h("input", { type: "date", id, class: "bk-control bk-date", value: element.initial_date ?? "", "data-keep": keep, "aria-describedby": describedBy });
      read = () => control.value || undefined;
      break;
    }
    case "radio_buttons": {
      control = radioGroup(element, { name: uniqueId("radios"), keep, labelledBy: labelId });
      read = () => control.querySelector("input:checked")?.value;
      break;
    }
    case "static_select": {
      control = selectControl(element, { id, keep, label: plainOf(block.label) });
      control.setAttribute("aria-describedby", describedBy);
      read = () => control.value || undefined;
      break;
    }
    case "external_select": {
      control = renderExternalSelect(element, ctx, { id, keep });
      const field = control.querySelector("input");
      read = () => field.selectedOption?.value;
      break;
    }
    default:
      control = unsupported(`element: ${String(element.type)}`);
  }
  if (ctx.inputs && block.block_id) ctx.inputs.set(block.block_id, read);

  const labelFor = element.type === "radio_buttons" || element.type === "datetimepicker" ? null : id;
  return h(
    "div",
    { class: "bk-input-block", "data-testid": `input-${blockId}`, "data-block-id": blockId },
    h(labelFor ? "label" : "div", { class: "bk-label", id: labelId, for: labelFor }, textEl(block.label), block.optional ? h("span", { class: "bk-optional" }, " (optional)") : null),
    control,
    block.hint ? h("div", { class: "bk-hint", id: hintId }, textEl(block.hint)) : null,
    h("div", { class: "bk-error", id: errorId, "data-testid": `field-error-${blockId}`, role: "alert", hidden: true }),
  );
}

// ---- the modal ----

function removeModal() {
  $("modal-root").replaceChildren();
  app.modal = null;
  document.body.classList.remove("has-modal");
}

function renderModal(modals) {
  const top = modals.at(-1);
  if (!top) {
    if (app.modal) removeModal();
    return;
  }
  if (app.modal && app.modal.id === top.id && app.modal.hash === top.hash) {
    showFieldErrors(top.errors ?? {});
    return;
  }
  // The same modal updated: Slack keeps what the person typed in inputs that are still there.
  const sameModal = app.modal?.id === top.id;
  const kept = sameModal ? snapshotInputs(app.modal.root) : new Map();
  const view = top.view ?? {};
  const inputs = new Map();
  const titleId = uniqueId("modal-title");
  const body = h("div", { class: "modal-body" }, renderBlocks(view.blocks ?? [], { view: top.id }, { inputs }));
  const closeLabel = plainOf(view.close) || (view.submit ? "Cancel" : "Close");
  const closeButton = h("button", { type: "button", class: "bk-button", "data-testid": "modal-close" }, view.close ? textEl(view.close, "bk-button-text") : closeLabel);
  closeButton.addEventListener("click", () => void closeModal(top.id, closeButton));
  const footer = h("footer", { class: "modal-footer" }, closeButton);
  if (view.submit) {
    const submit = h("button", { type: "button", class: "bk-button bk-primary", "data-testid": "modal-submit" }, textEl(view.submit, "bk-button-text"));
    submit.addEventListener("click", () => void submitModal(top.id, submit));
    footer.append(submit);
  }
  const x = h("button", { type: "button", class: "icon-button modal-x", "aria-label": `Close ${plainOf(view.title)}` }, "\u00D7");
  x.addEventListener("click", () => void closeModal(top.id, x));
  const dialog = h(
    "div",
    { class: "modal", role: "dialog", "aria-modal": "true", "aria-labelledby": titleId, "data-testid": "modal", "data-view-id": top.id },
    h(
      "header",
      { class: "modal-header" },
      modals.length > 1 ? h("span", { class: "modal-depth", title: `${modals.length} views in this stack` }, "\u2039") : null,
      h("h2", { class: "modal-title", id: titleId }, textEl(view.title)),
      x,
    ),
    body,
    footer,
  );
  // Enter in a one-line field submits, as in Slack.
  dialog.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.key === "Enter" && !event.isComposing && target.tagName === "INPUT" && target.classList.contains("bk-text-input") && view.submit) {
      event.preventDefault();
      dialog.querySelector('[data-testid="modal-submit"]')?.click();
    }
  });
  const overlay = h("div", { class: "overlay modal-overlay" }, dialog);
  $("modal-root").replaceChildren(overlay);
  document.body.classList.add("has-modal");
  app.modal = { id: top.id, hash: top.hash, root: dialog, inputs };
  restoreInputs(dialog, kept);
  showFieldErrors(top.errors ?? {});
  if (!sameModal) (dialog.querySelector(".bk-control:not([disabled])") ?? x).focus();
}

function showFieldErrors(errors) {
  if (!app.modal) return;
  for (const block of app.modal.root.querySelectorAll(".bk-input-block")) {
    const message = errors[block.getAttribute("data-block-id")];
    const error = block.querySelector(".bk-error");
    error.hidden = !message;
    error.textContent = message ?? "";
    block.classList.toggle("has-error", Boolean(message));
    for (const control of block.querySelectorAll(".bk-control")) {
      if (message) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    }
  }
}

async function submitModal(viewId, button) {
  if (!app.modal || app.modal.id !== viewId) return;
  const values = {};
  for (const [blockId, read] of app.modal.inputs) {
    const value = read();
    if (value !== undefined) values[blockId] = value;
  }
  const answer = await busy(button, `submit|${viewId}`, () => perform({ action: "submit", view: viewId, values }));
  const outcome = answer?.outcome;
  if (outcome?.kind === "errors" && app.modal?.id === viewId) {
    showFieldErrors(outcome.errors ?? {});
    app.modal.root.querySelector(".has-error .bk-control")?.focus();
  }
}

async function closeModal(viewId, button) {
  await busy(button, `close|${viewId}`, () => perform({ action: "close", view: viewId }));
}

// ---- the confirm dialog ----

function closeConfirm() {
  $("confirm-root").replaceChildren();
}

/** Slack's confirmation dialog for a button with `confirm`: the click is sent only after "confirm". */
function openConfirm(confirm, onConfirm) {
  const titleId = uniqueId("confirm-title");
  const textId = uniqueId("confirm-text");
  const previousFocus = document.activeElement;
  const finish = (confirmed) => {
    closeConfirm();
    if (previousFocus && typeof previousFocus.focus === "function" && previousFocus.isConnected) previousFocus.focus();
    if (confirmed) void onConfirm();
  };
  const ok = h("button", { type: "button", class: `bk-button ${confirm.style === "danger" ? "bk-danger" : "bk-primary"}`, "data-testid": "confirm-ok" }, confirm.confirm ? textEl(confirm.confirm, "bk-button-text") : "Yes");
  const deny = h("button", { type: "button", class: "bk-button", "data-testid": "confirm-deny" }, confirm.deny ? textEl(confirm.deny, "bk-button-text") : "Cancel");
  const text = textEl(confirm.text, "bk-text confirm-text", "div");
  text.id = textId;
  ok.addEventListener("click", () => finish(true));
  deny.addEventListener("click", () => finish(false));
  const dialog = h(
    "div",
    { class: "modal confirm", role: "alertdialog", "aria-modal": "true", "aria-labelledby": titleId, "aria-describedby": textId, "data-testid": "confirm" },
    h("header", { class: "modal-header" }, h("h2", { class: "modal-title", id: titleId }, confirm.title ? textEl(confirm.title) : "Are you sure?")),
    h("div", { class: "modal-body" }, text),
    h("footer", { class: "modal-footer" }, deny, ok),
  );
  const overlay = h("div", { class: "overlay confirm-overlay" }, dialog);
  overlay.addEventListener("click", (event) => {
    if (event.target === overlay) finish(false);
  });
  $("confirm-root").replaceChildren(overlay);
  ok.focus();
}

// ---- toasts ----

function toast(message, kind = "error") {
  const item = h(
    "div",
    { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status", "data-testid": "toast" },
    h("span", { class: "toast-text" }, message),
    h("button", { type: "button", class: "icon-button toast-close", "aria-label": "Dismiss", onclick: () => item.remove() }, "\u00D7"),
  );
  $("toasts").append(item);
  setTimeout(() => item.remove(), TOAST_MS);
}

// ---- the composer ----

async function runComposer() {
  const composer = $("composer");
  const text = composer.value.trim();
  if (text === "" || app.view !== "channel" || !app.channel) return;
  if (!(text === COMMAND || text.startsWith(`${COMMAND} `))) {
    toast(`Only the ${COMMAND} command works here, e.g. ${COMMAND} pending. Messages are not posted in the playground.`, "info");
    return;
  }
  const channel = app.channel;
  const answer = await busy($("composer-send"), "composer", () => perform({ action: "command", channel, text }));
  if (answer) {
    composer.value = "";
    forceBottom = true;
  }
}

function wireStaticControls() {
  $("persona").addEventListener("change", (event) => switchPersona(event.target.value));
  $("composer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void runComposer();
  });
  $("composer").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void runComposer();
    }
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest?.(".bk-overflow")) closeMenus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if ($("confirm-root").firstChild) {
      closeConfirm();
      return;
    }
    if (document.querySelector(".bk-menu:not([hidden])")) {
      closeMenus();
      return;
    }
    if (app.modal) {
      const x = app.modal.root.querySelector(".modal-x");
      x?.click();
    }
  });
}

wireStaticControls();
void pollLoop();
