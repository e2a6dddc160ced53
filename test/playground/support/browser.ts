import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type ElementHandle, type Page } from "puppeteer-core";

/** The browser globals the functions run inside the page use: the project compiles without the DOM library. */
interface ShownElement {
  innerText: string;
}
interface SelectElement {
  value: string;
  options: ArrayLike<{ value: string; textContent: string | null }>;
}
declare const document: { querySelectorAll(selector: string): ArrayLike<ShownElement> };
declare function requestAnimationFrame(callback: () => void): number;

/** Debian's package; CHROMIUM_PATH points elsewhere (another distribution, a downloaded build). */
export const CHROMIUM_INSTALL_HINT = "chromium not installed (apt-get install -y chromium)";

/** The Chromium to drive, and whether it is there (an executable file). */
export function findChromium(): { path: string; installed: boolean } {
  const path = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
  try {
    accessSync(path, constants.X_OK);
    return { path, installed: true };
  } catch {
    return { path, installed: false };
  }
}

export interface LaunchedBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/** One headless Chromium with a profile of its own that is deleted on close. */
export async function launchChromium(executablePath: string): Promise<LaunchedBrowser> {
  const userDataDir = mkdtempSync(join(tmpdir(), "sendgate-chromium-"));
  const browser = await puppeteer.launch({
    executablePath,
    userDataDir,
    headless: true,
    args: [
      "--no-sandbox",
      "--headless=new",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** `[data-testid="…"]`, the page contract's only kind of selector. */
export const testId = (id: string) => `[data-testid="${id.replace(/["\\]/g, "\\$&")}"]`;

/** Element-by-element steps on the playground page, each waiting for what the page must show. */
export class PlaygroundPage {
  /** Uncaught exceptions and console errors of the page, in order. */
  readonly problems: string[] = [];

  constructor(
    readonly page: Page,
    private readonly options: { timeoutMs: number; screenshotDir: string },
  ) {
    page.on("pageerror", (error) => this.problems.push(`page error: ${error instanceof Error ? error.message : String(error)}`));
    page.on("console", (message) => {
      if (message.type() === "error") this.problems.push(`console error: ${message.text()} (${message.location().url ?? "?"})`);
    });
    page.on("requestfailed", (request) => {
      // The long poll is cut when the page switches persona or the browser closes; anything else failing is a bug.
      if (!request.url().includes("/playground/state")) this.problems.push(`request failed: ${request.method()} ${request.url()} ${request.failure()?.errorText ?? ""}`);
    });
    mkdirSync(options.screenshotDir, { recursive: true });
  }

  /** Waits for the first element matching `selector` that is visible. */
  async visible(selector: string, timeoutMs = this.options.timeoutMs): Promise<ElementHandle> {
    const handle = await this.page.waitForSelector(selector, { visible: true, timeout: timeoutMs });
    if (!handle) throw new Error(`${selector} did not show`);
    return handle;
  }

  async click(selector: string) {
    await (await this.visible(selector)).click();
  }

  /** Waits until the element shows `text` (as rendered, so hidden text does not count). */
  async textIn(selector: string, text: string | RegExp, timeoutMs = this.options.timeoutMs) {
    const pattern = typeof text === "string" ? { source: text, literal: true } : { source: text.source, literal: false };
    try {
      await this.page.waitForFunction(
        (sel: string, p: { source: string; literal: boolean }) => {
          const shown = Array.from(document.querySelectorAll(sel), (e) => e.innerText).join("\n");
          return p.literal ? shown.includes(p.source) : new RegExp(p.source).test(shown);
        },
        { timeout: timeoutMs, polling: "mutation" },
        selector,
        pattern,
      );
    } catch (error) {
      throw new Error(`${selector} never showed ${String(text)}; it shows: ${JSON.stringify(await this.innerText(selector))}`, { cause: error });
    }
  }

  /** The rendered text of every element matching `selector` ("" when none). */
  async innerText(selector: string): Promise<string> {
    return this.page.$$eval(selector, (elements) => elements.map((e) => (e as unknown as ShownElement).innerText).join("\n"));
  }

  /** Scrolls the element showing `text` into view: a modal or thread scrolls inside the page, out of a screenshot's reach. */
  async reveal(selector: string, text: string) {
    const handle = await this.page.$(`${selector} ::-p-text(${JSON.stringify(text)})`);
    if (!handle) throw new Error(`${selector} shows no ${JSON.stringify(text)} to scroll to`);
    await handle.scrollIntoView();
  }

  async gone(selector: string, timeoutMs = this.options.timeoutMs) {
    await this.page.waitForSelector(selector, { hidden: true, timeout: timeoutMs });
  }

  /**
   * Becomes someone else through the persona picker and waits until the page asked for what that
   * person sees (the state endpoint answers per `as`).
   */
  async actAs(userId: string, realName: string) {
    const picker = testId("persona");
    await this.visible(picker);
    const value = await this.page.$eval(
      picker,
      (select, id, name) => {
        const options = Array.from((select as unknown as SelectElement).options);
        return (options.find((o) => o.value === id) ?? options.find((o) => o.textContent?.includes(name)))?.value ?? null;
      },
      userId,
      realName,
    );
    if (value === null) throw new Error(`the persona picker has no ${realName} (${userId})`);
    if ((await this.page.$eval(picker, (select) => (select as unknown as SelectElement).value)) === value) return;
    const answered = this.page.waitForResponse((r) => r.url().includes("/playground/state") && r.url().includes(`as=${userId}`) && r.ok(), {
      timeout: this.options.timeoutMs,
    });
    await this.page.select(picker, value);
    await answered;
    // The answer is rendered in the same task it arrives in; one frame later the DOM is the new person's.
    await this.page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve(null))));
  }

  async screenshot(name: string) {
    await this.page.screenshot({ path: join(this.options.screenshotDir, `${name}.png`) as `${string}.png`, fullPage: true });
  }
}
