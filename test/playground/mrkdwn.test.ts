import { describe, expect, it } from "vitest";
import {
  formatSlackDate,
  renderMrkdwn,
  renderPlainText,
  unixToZonedDateTime,
  zonedDateTimeToUnix,
  type MrkdwnContext,
} from "../../src/playground/page/mrkdwn.js";

/** 2023-11-14 22:13:20 UTC: a Tuesday evening in Paris, Wednesday morning in Tokyo. */
const UNIX = 1_700_000_000;
const ctx: MrkdwnContext = {
  people: { U0ALEX: { name: "Alex Morgan" } },
  userGroups: { S0REVIEWERS: { handle: "reviewers" } },
  timeZone: "Europe/Paris",
  now: Date.UTC(2023, 10, 14, 12, 0, 0),
};
const render = (text: string) => renderMrkdwn(text, ctx);

/** What a reader sees: the tags dropped and the entities read. */
function shown(html: string): string {
  return html
    .replace(/<br>/g, "\n")
    .replace(/<[^>]*>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

/** The only markup the renderer may produce, and the only attributes on it. */
function expectOnlyOwnMarkup(html: string) {
  for (const [, tag, attributes] of html.matchAll(/<\/?([a-z]+)([^>]*)>/g)) {
    expect(["b", "i", "s", "code", "pre", "blockquote", "br", "a", "span"]).toContain(tag);
    for (const [, name] of attributes!.matchAll(/\s([a-z-]+)=/g)) expect(["class", "href", "target", "rel", "title", "data-user"]).toContain(name);
  }
}

describe("renderMrkdwn: text styles", () => {
  it("makes *bold*, _italic_ and ~strike~", () => {
    expect(render("*bold* _italic_ ~strike~")).toBe("<b>bold</b> <i>italic</i> <s>strike</s>");
  });

  it("nests styles and styles two words in a row", () => {
    expect(render("_*both*_")).toBe("<i><b>both</b></i>");
    expect(render("*a* *b*")).toBe("<b>a</b> <b>b</b>");
    expect(render("(*a*), *b*.")).toBe("(<b>a</b>), <b>b</b>.");
  });

  it("leaves markers inside words and unclosed markers alone", () => {
    expect(render("snake_case_name")).toBe("snake_case_name");
    expect(render("2*3*4")).toBe("2*3*4");
    expect(render("* not bold *")).toBe("* not bold *");
    expect(render("*open")).toBe("*open");
  });

  it("does not style across lines", () => {
    expect(render("*one\ntwo*")).toBe("*one<br>two*");
  });

  it("keeps `code` literal, escaped and unstyled", () => {
    expect(render("run `npm *start*` now")).toBe('run <code class="mk-code">npm *start*</code> now');
    expect(render("`<b>&amp;`")).toBe('<code class="mk-code">&lt;b&gt;&amp;</code>');
  });

  it("keeps ```pre``` blocks literal, with their line breaks", () => {
    const html = render("before\n```line *1*\n<@U0ALEX> &lt;2&gt;```\nafter");
    expect(html).toBe('before<pre class="mk-pre">line *1*\n&lt;@U0ALEX&gt; &lt;2&gt;</pre>after');
  });

  it("turns > lines into one quote, written raw or escaped", () => {
    expect(render("> first\n&gt; second\nafter")).toBe('<blockquote class="mk-quote">first<br>second</blockquote>after');
    expect(render("a\n>quoted")).toBe('a<blockquote class="mk-quote">quoted</blockquote>');
  });

  it("keeps line breaks", () => {
    expect(render("*Subject*\nHello\n\nWorld")).toBe("<b>Subject</b><br>Hello<br><br>World");
  });
});

describe("renderMrkdwn: escaping", () => {
  it("shows Slack's escaped &, < and > as the characters, escaped once for HTML", () => {
    const html = render("Acme &amp; Co &lt;news@acme.example&gt;");
    expect(html).toBe("Acme &amp; Co &lt;news@acme.example&gt;");
    expect(shown(html)).toBe("Acme & Co <news@acme.example>");
  });

  it("decodes only &amp; &lt; &gt;: other entities stay text", () => {
    expect(shown(render("&quot;x&quot; &#60; &amp;lt;"))).toBe("&quot;x&quot; &#60; &lt;");
  });

  it("never mentions from escaped text: &lt;!channel&gt; is the literal text <!channel>", () => {
    const html = render("&lt;!channel&gt; &lt;!here&gt; &lt;@U0ALEX&gt; &lt;!subteam^S0REVIEWERS&gt;");
    expect(html).not.toContain("mk-mention");
    expect(shown(html)).toBe("<!channel> <!here> <@U0ALEX> <!subteam^S0REVIEWERS>");
  });

  it("keeps <script> and HTML inert", () => {
    for (const text of ["<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;", '<img src=x onerror="alert(1)">', "\"quotes\" 'and' <b>tags</b>"]) {
      const html = render(text);
      expect(html).not.toMatch(/<script|<img/i);
      expectOnlyOwnMarkup(html);
    }
    expect(shown(render("<script>alert(1)</script>"))).toBe("<script>alert(1)</script>");
  });

  it("does not let a label or name break out of its attribute or element", () => {
    const html = renderMrkdwn('<@U9|"><script>x</script>> <https://a.example/"onmouseover="x|<b>label</b>>', {});
    expect(html).not.toMatch(/<script|"onmouseover/);
    expectOnlyOwnMarkup(html);
  });
});

describe("renderMrkdwn: links", () => {
  it("links <url|label> and <url>, in a new tab without an opener", () => {
    expect(render("<https://example.com/a?b=1&amp;c=2|the *docs*>")).toBe(
      '<a class="mk-link" href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">the *docs*</a>',
    );
    expect(render("<http://example.com>")).toBe('<a class="mk-link" href="http://example.com" target="_blank" rel="noopener noreferrer">http://example.com</a>');
  });

  it("links mailto:, showing the address", () => {
    expect(render("<mailto:ann@example.com>")).toBe('<a class="mk-link" href="mailto:ann@example.com" target="_blank" rel="noopener noreferrer">ann@example.com</a>');
    expect(shown(render("<mailto:ann@example.com|Ann>"))).toBe("Ann");
  });

  it("does not link other schemes: javascript:, data:, file:", () => {
    for (const text of ["<javascript:alert(1)|click me>", "<data:text/html,hi|click me>", "<file:///etc/passwd|click me>"]) {
      const html = render(text);
      expect(html).not.toContain("<a");
      expect(shown(html)).toBe("click me");
    }
    expect(render("<javascript:alert(1)>")).not.toContain("<a");
  });

  it("is not styled from outside, and styles around it", () => {
    expect(render("*see <https://example.com|this>*")).toBe('<b>see <a class="mk-link" href="https://example.com" target="_blank" rel="noopener noreferrer">this</a></b>');
  });
});

describe("renderMrkdwn: mentions", () => {
  it("names people from the context", () => {
    expect(render("by <@U0ALEX>")).toBe('by <span class="mk-mention" data-user="U0ALEX">@Alex Morgan</span>');
  });

  it("falls back to the label, then the id, for someone unknown", () => {
    expect(shown(render("<@U0NOBODY|nobody>"))).toBe("@nobody");
    expect(shown(render("<@U0NOBODY>"))).toBe("@U0NOBODY");
  });

  it("shows user groups by handle", () => {
    expect(render("<!subteam^S0REVIEWERS>")).toBe('<span class="mk-mention">@reviewers</span>');
    expect(shown(render("<!subteam^S0OTHER|@others>"))).toBe("@others");
  });

  it("shows @here, @channel and @everyone", () => {
    for (const who of ["here", "channel", "everyone"]) {
      expect(render(`<!${who}>`)).toBe(`<span class="mk-mention mk-broadcast">@${who}</span>`);
    }
  });

  it("shows channels by name", () => {
    expect(shown(render("<#C0APPROVALS|sendgate-approvals>"))).toBe("#sendgate-approvals");
  });
});

describe("renderMrkdwn: dates", () => {
  it("renders <!date^…> in the reader's time zone, with the fallback as a title", () => {
    const html = render(`<!date^${UNIX}^{date_short_pretty} at {time}|2023-11-14 22:13 UTC>`);
    expect(html).toBe('<span class="mk-date" title="2023-11-14 22:13 UTC">Today at 11:13 PM</span>');
    expect(shown(renderMrkdwn(`<!date^${UNIX}^{date_short_pretty} at {time}|x>`, { ...ctx, timeZone: "Asia/Tokyo" }))).toBe("Tomorrow at 7:13 AM");
    expect(shown(renderMrkdwn(`<!date^${UNIX}^{date_short} {time}|x>`, { ...ctx, timeZone: "America/New_York" }))).toBe("Nov 14, 2023 5:13 PM");
  });

  it("knows every token", () => {
    const format = (tokens: string, timeZone = "Europe/Paris", now = Date.UTC(2024, 0, 1)) => formatSlackDate(UNIX, tokens, timeZone, now);
    expect(format("{date_num}")).toBe("2023-11-14");
    expect(format("{date}")).toBe("November 14th, 2023");
    expect(format("{date_short}")).toBe("Nov 14, 2023");
    expect(format("{date_long}")).toBe("Tuesday, November 14th, 2023");
    expect(format("{date_pretty} / {date_short_pretty} / {date_long_pretty}")).toBe("November 14th, 2023 / Nov 14, 2023 / Tuesday, November 14th, 2023");
    expect(format("{time}")).toBe("11:13 PM");
    expect(format("{time_secs}")).toBe("11:13:20 PM");
    expect(format("{unknown_token}")).toBe("{unknown_token}");
  });

  it("says Today, Yesterday and Tomorrow in the pretty tokens, by the reader's calendar", () => {
    const pretty = (now: number) => formatSlackDate(UNIX, "{date_pretty}|{date_short_pretty}|{date_long_pretty}", "Europe/Paris", now);
    expect(pretty(Date.UTC(2023, 10, 14, 8))).toBe("Today|Today|Today");
    expect(pretty(Date.UTC(2023, 10, 15, 8))).toBe("Yesterday|Yesterday|Yesterday");
    expect(pretty(Date.UTC(2023, 10, 13, 8))).toBe("Tomorrow|Tomorrow|Tomorrow");
    // 23:30 UTC on the 14th is already the 15th in Paris: the date is yesterday there.
    expect(pretty(Date.UTC(2023, 10, 14, 23, 30))).toBe("Yesterday|Yesterday|Yesterday");
  });

  it("uses ordinals as Slack does", () => {
    const day = (d: number) => formatSlackDate(Date.UTC(2023, 0, d, 12) / 1000, "{date}", "UTC", 0);
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31].map(day)).toEqual([
      "January 1st, 2023",
      "January 2nd, 2023",
      "January 3rd, 2023",
      "January 4th, 2023",
      "January 11th, 2023",
      "January 12th, 2023",
      "January 13th, 2023",
      "January 21st, 2023",
      "January 22nd, 2023",
      "January 23rd, 2023",
      "January 31st, 2023",
    ]);
  });

  it("links the date when the token has a link, and only to the web", () => {
    expect(render(`<!date^${UNIX}^{date_num}^https://example.com/x|fallback>`)).toBe(
      '<a class="mk-link" href="https://example.com/x" target="_blank" rel="noopener noreferrer"><span class="mk-date" title="fallback">2023-11-14</span></a>',
    );
    expect(render(`<!date^${UNIX}^{date_num}^javascript:alert(1)|fallback>`)).not.toContain("<a");
  });

  it("reads UTC for an unknown zone, and the fallback for a timestamp that is no date", () => {
    expect(shown(renderMrkdwn(`<!date^${UNIX}^{time}|x>`, { timeZone: "Mars/Olympus" }))).toBe("10:13 PM");
    expect(shown(render("<!date^99999999999999999^{time}|the fallback &amp; more>"))).toBe("the fallback & more");
  });

  it("escapes the format's own text", () => {
    expect(shown(render(`<!date^${UNIX}^{date_num} &lt;b&gt;|x>`))).toBe("2023-11-14 <b>");
    expectOnlyOwnMarkup(render(`<!date^${UNIX}^{date_num} &lt;b&gt;|"><b>x</b>>`));
  });
});

describe("renderMrkdwn: emoji", () => {
  it("turns the shortcodes sendgate writes into emoji", () => {
    const codes = [
      "white_check_mark",
      "warning",
      "no_entry",
      "x",
      "calendar",
      "pencil2",
      "outbox_tray",
      "double_vertical_bar",
      "arrow_forward",
      "alarm_clock",
      "bell",
      "checkered_flag",
      "email",
      "scissors",
      "mag",
      "ballot_box_with_check",
      "hourglass_flowing_sand",
      "large_green_circle",
      "red_circle",
      "large_yellow_circle",
      "white_circle",
      "rocket",
      "tada",
      "stopwatch",
      "clipboard",
      "information_source",
    ];
    for (const code of codes) {
      const html = render(`:${code}:`);
      expect(html, code).not.toContain(":");
      expect(html, code).toMatch(/^\P{ASCII}+$/u);
    }
    expect(render(":white_check_mark: Approved")).toBe("\u2705 Approved");
  });

  it("keeps unknown shortcodes and times as text", () => {
    expect(render(":not_an_emoji: at 10:00:00")).toBe(":not_an_emoji: at 10:00:00");
  });

  it("leaves shortcodes in code alone", () => {
    expect(render("`:x:`")).toBe('<code class="mk-code">:x:</code>');
  });
});

describe("renderPlainText", () => {
  it("escapes everything and formats nothing", () => {
    const html = renderPlainText("*bold* <https://example.com|link> <@U0ALEX> <!channel> <script>x</script> & \"q\"", true);
    expect(html).toBe("*bold* &lt;https://example.com|link&gt; &lt;@U0ALEX&gt; &lt;!channel&gt; &lt;script&gt;x&lt;/script&gt; &amp; &quot;q&quot;");
  });

  it("does not decode Slack's entities: plain text is shown as written", () => {
    expect(shown(renderPlainText("&lt;b&gt;", true))).toBe("&lt;b&gt;");
  });

  it("converts shortcodes only with emoji: true", () => {
    expect(renderPlainText("Done :white_check_mark:", true)).toBe("Done \u2705");
    expect(renderPlainText("Done :white_check_mark:", false)).toBe("Done :white_check_mark:");
    expect(renderPlainText("Done :white_check_mark:")).toBe("Done :white_check_mark:");
  });

  it("keeps line breaks", () => {
    expect(renderPlainText("one\ntwo\r\nthree")).toBe("one<br>two<br>three");
  });
});

describe("zoned date and time (datetimepicker)", () => {
  it("reads a wall-clock date and time in the person's zone", () => {
    expect(zonedDateTimeToUnix("2030-03-20", "09:00", "Europe/Paris")).toBe(Date.UTC(2030, 2, 20, 8, 0) / 1000);
    expect(zonedDateTimeToUnix("2030-07-20", "09:00", "Europe/Paris")).toBe(Date.UTC(2030, 6, 20, 7, 0) / 1000);
    expect(zonedDateTimeToUnix("2030-07-01", "23:59", "Asia/Tokyo")).toBe(Date.UTC(2030, 6, 1, 14, 59) / 1000);
    expect(zonedDateTimeToUnix("2030-01-15", "18:30", "America/New_York")).toBe(Date.UTC(2030, 0, 15, 23, 30) / 1000);
    expect(zonedDateTimeToUnix("2030-01-15", "18:30", "UTC")).toBe(Date.UTC(2030, 0, 15, 18, 30) / 1000);
  });

  it("reads a time skipped by the spring change with the offset before it", () => {
    // 02:30 does not exist in Paris on 2030-03-31; at +01:00 it is 01:30 UTC (03:30 on the clock).
    expect(zonedDateTimeToUnix("2030-03-31", "02:30", "Europe/Paris")).toBe(Date.UTC(2030, 2, 31, 1, 30) / 1000);
  });

  it("round-trips with unixToZonedDateTime", () => {
    for (const tz of ["Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC"]) {
      const unix = zonedDateTimeToUnix("2030-11-03", "08:45", tz)!;
      expect(unixToZonedDateTime(unix, tz)).toEqual({ date: "2030-11-03", time: "08:45" });
    }
    expect(unixToZonedDateTime(UNIX, "Europe/Paris")).toEqual({ date: "2023-11-14", time: "23:13" });
  });

  it("answers null for what is not a date and a time", () => {
    expect(zonedDateTimeToUnix("", "09:00", "UTC")).toBeNull();
    expect(zonedDateTimeToUnix("2030-03-20", "9am", "UTC")).toBeNull();
  });
});
