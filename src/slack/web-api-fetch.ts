/** What Slack answered one Web API call: `ok`, Slack's error code, `http_<status>` or `unreachable`. */
export type WebApiObserver = (method: string, outcome: string) => void;

/**
 * The `fetch` the Slack clients call the Web API with: the global one, with `observe` told what Slack
 * answered each call. The answer is read from the body as the Slack client reads it (its text), not
 * from a copy parsed a second time: a views.open answer holds the whole modal, and when two hundred
 * people click at once, copying and parsing each answer twice was a good part of what a click cost.
 */
export function observedFetch(observe: WebApiObserver): typeof fetch {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const method = new URL(url).pathname.split("/").filter(Boolean).at(-1) ?? "unknown";
    let response: Response;
    try {
      response = await fetch(input, init);
    } catch (error) {
      observe(method, "unreachable");
      throw error;
    }
    if (response.status !== 200) {
      observe(method, `http_${response.status}`);
      return response;
    }
    // The Slack client reads every answer with text() (binary answers of methods sendgate does not call aside).
    const text = response.text.bind(response);
    Object.defineProperty(response, "text", {
      value: async () => {
        const body = await text();
        observe(method, outcomeOf(body));
        return body;
      },
    });
    return response;
  };
}

/** `ok`, or Slack's error code. Slack's answers start with "ok"; anything else is parsed in full. */
export function outcomeOf(text: string): string {
  if (/^\s*\{\s*"ok"\s*:\s*true\b/.test(text)) return "ok";
  try {
    const parsed = JSON.parse(text) as { ok?: boolean; error?: string };
    return parsed.ok === true ? "ok" : typeof parsed.error === "string" ? parsed.error : "not_ok";
  } catch {
    return "not_ok";
  }
}
