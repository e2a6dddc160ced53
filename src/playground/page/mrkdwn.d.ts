/** Types of mrkdwn.js, the playground page's text renderer (plain browser JavaScript, also imported by tests). */

export interface MrkdwnContext {
  /** Who `<@U…>` names, by user id. */
  people?: Record<string, { name: string }>;
  /** Which handle `<!subteam^S…>` shows, by user group id. */
  userGroups?: Record<string, { handle: string }>;
  /** IANA zone `<!date^…>` is shown in, e.g. "Europe/Paris"; UTC when absent or unknown. */
  timeZone?: string;
  /** Milliseconds since the epoch: what "Today" means in pretty dates. Date.now() when absent. */
  now?: number;
}

export const EMOJI: Record<string, string>;

export function escapeHtml(text: string): string;

/** A mrkdwn text as escaped HTML, the way Slack's client draws it. */
export function renderMrkdwn(text: string, ctx?: MrkdwnContext): string;

/** A plain_text text as escaped HTML; with `emoji`, shortcodes become emoji. */
export function renderPlainText(text: string, emoji?: boolean): string;

/** Slack's date tokens ({date_short_pretty}, {time}, …) for unix seconds in `timeZone`; null when not a date. */
export function formatSlackDate(unix: number, format: string, timeZone: string, now?: number): string | null;

/** A wall-clock date ("YYYY-MM-DD") and time ("HH:MM") in an IANA zone as unix seconds; null when malformed. */
export function zonedDateTimeToUnix(date: string, time: string, timeZone: string): number | null;

/** Unix seconds as the wall-clock date and time in an IANA zone. */
export function unixToZonedDateTime(unix: number, timeZone: string): { date: string; time: string };
