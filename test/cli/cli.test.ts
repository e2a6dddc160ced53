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
import { givenSending } from "../sender/support/fixtures.js";

const OPERATOR_TOKEN = "oncall-token-0123456789abcdef0123456789abcdef";
type CliEnv = { SENDGATE_URL?: string; SENDGATE_API_TOKEN?: string; SENDGATE_OPERATOR_TOKEN?: string };

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

describeEachDatabase("the sendgate CLI against a real server", (provider) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await startHttpHarness(provider, { env: { OPERATOR_TOKENS: `oncall:${OPERATOR_TOKEN}` } });
  });
  afterAll(() => h?.close());

  async function cli(args: string[], env: CliEnv = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const status = await runCli(args, {
      env: { SENDGATE_URL: h.baseUrl, SENDGATE_API_TOKEN: API_TOKEN, SENDGATE_OPERATOR_TOKEN: OPERATOR_TOKEN, ...env },
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    });
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
    const wrong = await cli(["create", example("spring-newsletter.json"), "--token", "wrong-token-0123456789abcdef0123456789"]);
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

  const statusOf = async (id: string) => (await h.db.prisma.sending.findUniqueOrThrow({ where: { id } })).status;

  it("pauses, resumes and cancels with the operator token from SENDGATE_OPERATOR_TOKEN, one line each with the new status", async () => {
    const id = await givenSending(h.db, { status: "SENDING", recipients: 4 });
    await h.db.prisma.recipient.updateMany({ where: { sendingId: id, email: "r0@example.test" }, data: { status: "PREPARED" } });

    expect(await cli(["pause", id, "--reason", "the link is wrong"])).toEqual({
      status: 0,
      out: `Paused ${id}: now PAUSED; no more messages go to the mail server (the few in its hands finish).`,
      err: "",
    });
    expect(await statusOf(id)).toBe("PAUSED");
    expect(await cli(["resume", id])).toEqual({ status: 0, out: `Resumed ${id}: now SENDING; delivery continues where it stopped.`, err: "" });
    expect(await statusOf(id)).toBe("SENDING");
    expect(await cli(["cancel", id, "--reason", "wrong audience", "--prepared", "drop"])).toEqual({
      status: 0,
      out: `Cancelled ${id}: now CANCELLED; 4 recipients will not get it; 1 prepared message dropped.`,
      err: "",
    });
    expect(await statusOf(id)).toBe("CANCELLED");
    const audit = await h.db.prisma.auditEvent.findMany({ where: { sendingId: id }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.actor, a.action, a.reason])).toEqual([
      ["operator:oncall", "paused", "the link is wrong"],
      ["operator:oncall", "resumed", null],
      ["operator:oncall", "cancelled", "wrong audience"],
    ]);
  });

  it("takes the operator token from --token too, and says what became of prepared messages still delivered", async () => {
    const id = await givenSending(h.db, { status: "PAUSED", recipients: 3 });
    await h.db.prisma.recipient.updateMany({ where: { sendingId: id }, data: { status: "PREPARED" } });
    const cancelled = await cli(["cancel", id, "--reason", "stop", "--prepared", "deliver", "--token", OPERATOR_TOKEN], { SENDGATE_OPERATOR_TOKEN: "" });
    expect(cancelled).toMatchObject({ status: 0, out: `Cancelled ${id}: now CANCELLED; 0 recipients will not get it; 3 prepared messages still go out.` });
    const nothingPrepared = await givenSending(h.db, { status: "SCHEDULED", recipients: 1 });
    expect((await cli(["cancel", nothingPrepared, "--reason", "stop", "--prepared", "drop"])).out).toBe(
      `Cancelled ${nothingPrepared}: now CANCELLED; 1 recipient will not get it; no message was prepared.`,
    );
  });

  it("cancel without --reason or --prepared says what it lacks and sends nothing", async () => {
    const id = await givenSending(h.db, { status: "SENDING", recipients: 2 });
    expect(await cli(["cancel", id])).toEqual({
      status: 1,
      out: "",
      err: "cancel needs --reason <why> (the audit and the Slack thread show it) and --prepared drop|deliver (what becomes of the messages already prepared).",
    });
    expect(await cli(["cancel", id, "--reason", "x", "--prepared", "keep"])).toMatchObject({
      status: 1,
      err: 'cancel needs --prepared drop|deliver (what becomes of the messages already prepared; not "keep").',
    });
    expect(await statusOf(id)).toBe("SENDING");
  });

  it("prints the server's refusal and exits 1: a wrong state, an intake token, no operator token", async () => {
    const id = await givenSending(h.db, { status: "SENDING", recipients: 1 });
    expect(await cli(["resume", id])).toMatchObject({ status: 1, out: "", err: "Refused (409): This sending is sending; it cannot be resumed now." });
    const intake = await cli(["pause", id], { SENDGATE_OPERATOR_TOKEN: API_TOKEN });
    expect(intake).toMatchObject({ status: 1, err: expect.stringMatching(/^Refused \(403\): .*need a token from OPERATOR_TOKENS/) });
    const none = await cli(["pause", id], { SENDGATE_OPERATOR_TOKEN: "" });
    expect(none).toMatchObject({ status: 1, err: expect.stringContaining("No operator token: pass --token or set SENDGATE_OPERATOR_TOKEN") });
    // The intake commands keep their own token: an operator token is refused there.
    expect(await cli(["show", id], { SENDGATE_API_TOKEN: OPERATOR_TOKEN })).toMatchObject({ status: 1, err: expect.stringMatching(/^Refused \(403\)/) });
    expect(await statusOf(id)).toBe("SENDING");
  });

  it("lists sendings as a table, every page, filtered by --status", async () => {
    const delivering = await givenSending(h.db, { status: "SENDING", recipients: 3 });
    await h.db.prisma.recipient.updateMany({ where: { sendingId: delivering, email: "r0@example.test" }, data: { status: "SENT" } });
    const paused = await givenSending(h.db, { status: "PAUSED", recipients: 2 });
    const listed = await cli(["list", "--status", "SENDING,PAUSED"]);
    expect(listed.status).toBe(0);
    const lines = listed.out.split("\n");
    expect(lines[0]).toMatch(/^ID +STATUS +LAUNCH \(UTC\) +RECIPIENTS +QUEUED +PREPARED +SENT +FAILED +CANCELLED +NAME$/);
    const row = (id: string) => lines.find((line) => line.startsWith(id))?.split(/ {2,}/);
    expect(row(delivering)).toEqual([delivering, "SENDING", expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/), "3", "2", "0", "1", "0", "0", "Spring newsletter"]);
    expect(row(paused)?.slice(0, 5)).toEqual([paused, "PAUSED", expect.any(String), "2", "2"]);
    expect(lines).toHaveLength(1 + (await h.db.prisma.sending.count({ where: { status: { in: ["SENDING", "PAUSED"] } } })));
    expect(new Set(lines.slice(1).map((line) => line.split(/ {2,}/)[1]))).toEqual(new Set(["SENDING", "PAUSED"]));

    // More than the server gives on one page (200): the CLI follows the cursor to the end.
    const template = await h.db.prisma.sending.findUniqueOrThrow({ where: { id: paused } });
    await h.db.prisma.sending.createMany({
      data: Array.from({ length: 230 }, (_, i) => ({ ...template, id: `snd_many${String(i).padStart(6, "0")}`, status: "SCHEDULED" as const, recipientCount: 0 })),
    });
    const many = await cli(["list", "--status", "scheduled"]);
    const ids = many.out.split("\n").slice(1).map((line) => line.split(" ")[0]!);
    expect(ids.filter((id) => id.startsWith("snd_many"))).toHaveLength(230);
    expect(new Set(ids).size).toBe(ids.length);

    expect(await cli(["list", "--status", "REJECTED"])).toEqual({ status: 0, out: "No sendings in REJECTED.", err: "" });
    expect(await cli(["list", "--status", "DELIVERING"])).toMatchObject({ status: 1, err: expect.stringContaining('"DELIVERING" is no status') });
  });

  it("prints help with --help and refuses unknown commands", async () => {
    const help = await cli(["--help"]);
    expect(help).toMatchObject({ status: 0, out: expect.stringContaining("sendgate create <sending.json>") });
    for (const usage of ["sendgate list [--status SENDING,PAUSED]", "sendgate pause <id> [--reason <why>]", "sendgate resume <id>", "sendgate cancel <id> --reason <why> --prepared drop|deliver", "SENDGATE_OPERATOR_TOKEN"]) {
      expect(help.out).toContain(usage);
    }
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
