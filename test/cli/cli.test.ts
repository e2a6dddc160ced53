import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseLaunchAt, runCli } from "../../src/cli/run-cli.js";
import { describeEachDatabase } from "../support/databases.js";
import { API_TOKEN, startHttpHarness, type HttpHarness } from "../support/http-harness.js";

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

describeEachDatabase("the sendgate CLI against a real server", (provider) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await startHttpHarness(provider);
  });
  afterAll(() => h?.close());

  async function cli(args: string[], env: { SENDGATE_URL?: string; SENDGATE_API_TOKEN?: string } = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const status = await runCli(args, { env: { SENDGATE_URL: h.baseUrl, SENDGATE_API_TOKEN: API_TOKEN, ...env }, out: (l) => out.push(l), err: (l) => err.push(l) });
    return { status, out: out.join("\n"), err: err.join("\n") };
  }

  it("creates the example newsletter, appends the example NDJSON and shows the counts", async () => {
    const created = await cli(["create", example("spring-newsletter.json")]);
    expect(created.err).toBe("");
    expect(created.status).toBe(0);
    const id = /Created (snd_[0-9a-z]{10}): PENDING_APPROVAL, 6 recipients\./.exec(created.out)?.[1];
    expect(id, created.out).toBeDefined();

    const appended = await cli(["append", id!, example("more-recipients.ndjson"), "--changed-by", "U04MARKETING"]);
    expect(appended.status).toBe(0);
    expect(appended.out).toMatch(/^Appended 4 of 4 recipients to snd_\w+ \(skipped duplicates: 0 within the file, 0 already in the sending\)\. Now 10 recipients, PENDING_APPROVAL\.$/);

    const again = await cli(["append", id!, example("more-recipients.ndjson")]);
    expect(again.out).toMatch(/Appended 0 of 4 .* 4 already in the sending/);

    const shown = await cli(["show", id!]);
    expect(JSON.parse(shown.out)).toMatchObject({ id, recipientCount: 10, recipients: { QUEUED: 10 } });
    expect(await h.db.prisma.recipient.count({ where: { sendingId: id! } })).toBe(10);
  });

  it("--launch-at moves the example's launch to a date given, or to a time from now", async () => {
    const before = Date.now();
    const soon = await cli(["create", example("spring-newsletter.json"), "--launch-at", "+2m"]);
    expect(soon.status, soon.err).toBe(0);
    const id = /Created (snd_[0-9a-z]{10})/.exec(soon.out)![1]!;
    const stored = await h.db.prisma.sending.findUniqueOrThrow({ where: { id } });
    expect(stored.launchAt.getTime()).toBeGreaterThanOrEqual(before + 120_000 - 1000);
    expect(stored.launchAt.getTime()).toBeLessThanOrEqual(Date.now() + 120_000);

    const dated = await cli(["create", example("spring-newsletter.json"), "--launch-at", "2031-01-02T09:30:00+01:00"]);
    const datedId = /Created (snd_[0-9a-z]{10})/.exec(dated.out)![1]!;
    expect((await h.db.prisma.sending.findUniqueOrThrow({ where: { id: datedId } })).launchAt.toISOString()).toBe("2031-01-02T08:30:00.000Z");

    const count = await h.db.prisma.sending.count();
    for (const bad of ["tomorrow", "+2w", "2031-01-02T09:30:00", "2031-02-30T09:30:00Z"]) {
      const refused = await cli(["create", example("spring-newsletter.json"), "--launch-at", bad]);
      expect(refused.status).toBe(1);
      expect(refused.err).toContain(`--launch-at "${bad}" is neither`);
    }
    expect(await h.db.prisma.sending.count()).toBe(count);
  });

  it("prints the server's issues and exits 1 when the sending is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sendgate-cli-"));
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ name: "x", subject: "s", from: { email: "a@b.test" }, html: "<p>{{#if}}</p>", launchAt: "2030-01-01T00:00:00", requestedBy: "U0X", recipients: [{ email: "nope" }] }));
    const result = await cli(["create", file, "--url", h.baseUrl]);
    expect(result.status).toBe(1);
    expect(result.err).toMatch(/^Refused \(400\): The sending is invalid/);
    expect(result.err).toContain("  launchAt: must be an ISO 8601 date-time with a time-zone offset");
    expect(result.err).toContain("  recipients.0.email: is not a valid e-mail address");
    expect(result.err).toMatch(/ {2}html: html, line 1: /);
  });

  it("exits 1 with a clear message without a token, with a wrong token, or when the server is unreachable", async () => {
    const noToken = await cli(["create", example("spring-newsletter.json")], { SENDGATE_API_TOKEN: "" });
    expect(noToken).toMatchObject({ status: 1, err: expect.stringContaining("No API token") });
    const wrong = await cli(["create", example("spring-newsletter.json"), "--token", "wrong-token-0123456789"]);
    expect(wrong).toMatchObject({ status: 1, err: expect.stringMatching(/^Refused \(401\)/) });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await cli(["show", "snd_0000000000", "--url", `http://127.0.0.1:${port}`]);
    expect(unreachable).toMatchObject({ status: 1, err: `Cannot reach sendgate at http://127.0.0.1:${port} (connection refused).` });
    const missingFile = await cli(["create", "/nonexistent/sending.json"]);
    expect(missingFile).toMatchObject({ status: 1, err: expect.stringContaining("cannot read /nonexistent/sending.json: ENOENT") });
  });

  it("prints help with --help and refuses unknown commands", async () => {
    expect(await cli(["--help"])).toMatchObject({ status: 0, out: expect.stringContaining("sendgate create <sending.json>") });
    expect(await cli(["launch", "x"])).toMatchObject({ status: 1, err: expect.stringContaining("Unknown command") });
  });
});

it("parses --launch-at offsets from now and ISO dates with an offset", () => {
  const now = new Date("2026-11-28T10:00:00Z");
  expect(parseLaunchAt("+90s", now)).toBe("2026-11-28T10:01:30.000Z");
  expect(parseLaunchAt("+2m", now)).toBe("2026-11-28T10:02:00.000Z");
  expect(parseLaunchAt("+1h", now)).toBe("2026-11-28T11:00:00.000Z");
  expect(parseLaunchAt("+1d", now)).toBe("2026-11-29T10:00:00.000Z");
  expect(parseLaunchAt("2026-12-01T09:00:00+01:00", now)).toBe("2026-12-01T09:00:00+01:00");
  for (const bad of ["", "+", "+2", "-2m", "2m", "2026-12-01", "2026-12-01T09:00:00"]) expect(parseLaunchAt(bad, now)).toBeUndefined();
});
