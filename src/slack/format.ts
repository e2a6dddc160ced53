/** Slack's documented limits that sendgate's builders respect. */
export const Limits = {
  blocksPerMessage: 50,
  blocksPerModal: 100,
  sectionText: 3000,
  sectionField: 2000,
  buttonText: 75,
  buttonValue: 2000,
  modalTitle: 24,
  modalSubmit: 24,
  confirmText: 300,
  contextElementText: 3000,
  headerText: 150,
  privateMetadata: 3000,
  optionText: 75,
  placeholder: 150,
  messageText: 40000,
} as const;

/**
 * Untrusted text (names, subjects, recipient variables, reasons) goes through this before it enters
 * mrkdwn: with &, < and > escaped it cannot ping (<!channel>), mention (<@U…>) or forge a link.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Cuts text to a limit, marking the cut with an ellipsis; counts code points so emoji are not split. */
export function truncate(text: string, limit: number): string {
  const chars = [...text];
  if (chars.length <= limit) return text;
  return `${chars.slice(0, limit - 1).join("")}…`;
}

/** Escaped and cut: the ellipsis is applied before escaping so an entity is never cut in half. */
export function safeMrkdwn(text: string, limit: number): string {
  let cut = truncate(text, limit);
  while (escapeMrkdwn(cut).length > limit) cut = truncate(cut, [...cut].length - 10);
  return escapeMrkdwn(cut);
}

const SLACK_ID = /^[UWBS][A-Z0-9]{2,}$/;

/** Mentions only ids that look like Slack ids; anything else is shown as escaped text. */
export function mention(userId: string): string {
  if (userId === "system") return "sendgate";
  // Changes made through the API are told with the name of the token that made them.
  if (userId === "api") return "the API";
  if (userId.startsWith("api:")) return `API token _${escapeMrkdwn(userId.slice(4))}_`;
  // Paused, resumed or cancelled with an operator token (OPERATOR_TOKENS), e.g. while Slack was down.
  if (userId.startsWith("operator:")) return `operator _${escapeMrkdwn(userId.slice("operator:".length))}_`;
  return SLACK_ID.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}

/** A date every reader sees in their own time zone, with a UTC fallback for clients that cannot. */
export function slackDate(date: Date, format = "{date_short_pretty} at {time}"): string {
  const unix = Math.floor(date.getTime() / 1000);
  const fallback = `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return `<!date^${unix}^${format}|${fallback}>`;
}

export const plain = (text: string, limit: number = Limits.sectionText) => ({
  type: "plain_text" as const,
  text: truncate(text || " ", limit),
  emoji: true,
});

export const mrkdwn = (text: string) => ({ type: "mrkdwn" as const, text: truncate(text, Limits.sectionText) });

export function formatAddress(name: string | null, email: string): string {
  return name ? `${name} <${email}>` : email;
}

export const formatCount = (n: number) => n.toLocaleString("en-US");

/** "1 recipient", "12,345 recipients": the count with the word in the right number. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${formatCount(n)} ${n === 1 ? word : many}`;
}
