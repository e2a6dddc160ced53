// Interactive latency under a burst (issue 12, goal 2): 200 people click the Preview button of a
// sending's card at the same moment. sendgate runs as main.ts starts it, in a process of its own, in
// HTTP mode with its real configuration and a SQLite database holding a pending sending of 10,000
// recipients and a 5.4 KB personalized HTML template; Slack is the project's strict stand-in, in a
// process of its own. Beside it, in another process, a bare Bolt app whose listeners only acknowledge.
// One load client (this process) sends both the same signed block_actions requests, rounds alternating,
// and times each to its HTTP response: the acknowledgement Slack waits 3 seconds for.
// Goal: sendgate's p99 at most 2× the bare app's, with the work after the acknowledgement done (the
// stand-in receives every views.open) at well under 1 ms of main-thread CPU a click.
// Then a mixed burst (Preview, Approve, /sendings pending) as a second figure. Quick mode (BENCH_QUICK=1):
// 100 clicks, one round, no mix. BENCH_CLICKS, BENCH_ROUNDS, BENCH_RECIPIENTS, BENCH_MIX_ROUNDS change the sizes.
// BENCH_CPU_PROF=<dir>: sendgate's main thread is profiled over the measured rounds, into a .cpuprofile there
// for the Preview rounds and another for the mixed ones.
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { request, Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { signSlackRequest } from "../src/slack-standin/app-transport.js";
import { ActionId } from "../src/slack/ids.js";

const quick = process.env.BENCH_QUICK === "1";
const CLICKS = Number(process.env.BENCH_CLICKS ?? (quick ? 100 : 200));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 6));
const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? (quick ? 1_000 : 10_000));
const PEOPLE = 50;
const GOAL_RATIO = 2;

const root = fileURLToPath(new URL("..", import.meta.url));
const tsx = import.meta.resolve("tsx");
const work = mkdtempSync(join(tmpdir(), "sendgate-clicks-"));
const SIGNING_SECRET = "bench-signing-secret-0123456789abcdef";
const BOT_TOKEN = "xoxb-bench-token";
const API_TOKEN = "bench:bench-api-token-0123456789abcdef0123";
const CHANNEL = "C0BENCHAPPROVALS";
const people = Array.from({ length: PEOPLE }, (_, i) => `U0BENCH${String(i + 1).padStart(3, "0")}`);

/** A child that answers requests over IPC, matched by sequence number. */
function ipc(child: ChildProcess) {
  let seq = 0;
  const waiting = new Map<number, (answer: Record<string, unknown>) => void>();
  child.on("message", (message: Record<string, unknown>) => {
    const resolve = waiting.get(message.seq as number);
    if (resolve) {
      waiting.delete(message.seq as number);
      resolve(message);
    }
  });
  return <T>(message: object) =>
    new Promise<T>((resolve, reject) => {
      seq += 1;
      waiting.set(seq, (answer) => (answer.error ? reject(new Error(String(answer.error))) : resolve(answer as T)));
      child.send({ ...message, seq });
    });
}

function ready<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${what} exited (${code}) before it was ready`)));
    child.on("message", (message: { type?: string }) => {
      if (message.type === "ready") resolve(message as T);
    });
  });
}

/** CPU time (user + system) the process's main thread has used, in ms: /proc/<pid>/task/<pid>/stat. */
function mainThreadCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // fields 14 and 15, in ticks of 1/100 s
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ---- the stand-in, sendgate and the bare Bolt app ----

const children: ChildProcess[] = [];
// A failed run leaves no process behind (each child holds this one's output open).
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

const standin = fork(join(root, "bench/support-slack-standin.ts"), {
  execArgv: ["--import", tsx],
  env: { ...process.env, BENCH_CHANNEL: CHANNEL, BENCH_USERS: people.join(","), BENCH_BOT_TOKEN: BOT_TOKEN },
});
children.push(standin);
const { apiUrl } = await ready<{ apiUrl: string }>(standin, "the Slack stand-in");
const askStandin = ipc(standin);

// The bare app starts while sendgate does.
const bare = fork(join(root, "bench/support-bare-bolt.ts"), {
  execArgv: ["--import", tsx],
  env: { PATH: process.env.PATH, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_API_URL: apiUrl },
});
children.push(bare);
const bareReady = ready<{ port: number }>(bare, "the bare Bolt app");

const profileDir = process.env.BENCH_CPU_PROF;
const logFile = join(work, "sendgate.log");
const sendgate = fork(join(root, "src/main.ts"), {
  cwd: work,
  execArgv: ["--import", tsx, ...(profileDir ? ["--import", pathToFileURL(join(root, "bench/support-profiler.ts")).href] : [])],
  // Its log goes to a file: a pipe the load client reads between requests would fill and stall sendgate's writes.
  stdio: ["ignore", openSync(logFile, "w"), "inherit", "ipc"],
  env: {
    PATH: process.env.PATH,
    ...(profileDir ? { BENCH_CPU_PROF: profileDir } : {}),
    DATABASE_URL: `file:${join(work, "sendgate.db")}`,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: apiUrl,
    SLACK_APPROVALS_CHANNEL: CHANNEL,
    APPROVERS: people.join(","),
    // More than there are approvers: the mix's approvals are recorded and the card stays pending.
    REQUIRED_APPROVALS: "1000",
    API_TOKENS: API_TOKEN,
    PORT: "0",
    OUTBOX_DIR: join(work, "outbox"),
    LOG_FORMAT: "json",
    LOG_LEVEL: "info",
  },
});
children.push(sendgate);

/** What sendgate logged as errors, by message and Slack's error code. */
function loggedErrors(): Map<string, number> {
  const errors = new Map<string, number>();
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    if (!line.includes('"level":50') && !line.includes('"level":60')) continue;
    const said = /"msg":"([^"]*)"/.exec(line)?.[1] ?? line.slice(0, 200);
    const error = /"error":"([^"]*)"/.exec(line)?.[1];
    const key = error ? `${said} (${error})` : said;
    errors.set(key, (errors.get(key) ?? 0) + 1);
  }
  return errors;
}
const sendgateUrl = await waitFor(
  "sendgate to start",
  async () => {
    if (sendgate.exitCode !== null) throw new Error(`sendgate exited (${sendgate.exitCode}) before it started:\n${readFileSync(logFile, "utf8").slice(-2000)}`);
    const started = /"port":(\d+)[^\n]*"msg":"sendgate started"/.exec(readFileSync(logFile, "utf8"));
    return started ? `http://127.0.0.1:${started[1]}` : undefined;
  },
  60_000,
);

const bareUrl = `http://127.0.0.1:${(await bareReady).port}`;

// ---- the sending: as the marketing system hands it in ----

const example = JSON.parse(readFileSync(join(root, "examples/spring-newsletter.json"), "utf8")) as Record<string, unknown>;
const cities = ["Portland", "Salem", "Eugene", "Bend"];
const tiers = ["Gold", "Silver", "Bronze"];
const recipients = Array.from({ length: RECIPIENTS }, (_, i) => ({
  email: `reader${String(i).padStart(6, "0")}@example.com`,
  vars: { firstName: `Reader${i}`, city: cities[i % 4], loyaltyTier: tiers[i % 3], unsubscribeUrl: `https://acme-garden.example/unsubscribe/${i.toString(36)}` },
}));
const intakeStarted = performance.now();
const created = await fetch(`${sendgateUrl}/api/sendings`, {
  method: "POST",
  headers: { "content-type": "application/json", authorization: `Bearer ${API_TOKEN.split(":")[1]}` },
  // No text part: the text is derived from the HTML, the heavier case.
  body: JSON.stringify({ ...example, text: undefined, requestedBy: "U0REQUESTER", launchAt: new Date(Date.now() + 7 * 86_400_000).toISOString(), recipients }),
});
if (created.status !== 201) throw new Error(`intake answered ${created.status}: ${await created.text()}`);
const sendingId = ((await created.json()) as { id: string }).id;
const card = await waitFor("the approval card", async () => (await askStandin<{ card?: { channel: string; ts: string } }>({ type: "card", sendingId })).card);
console.log(
  `sendgate (HTTP mode, SQLite) with a pending sending of ${RECIPIENTS.toLocaleString("en-US")} recipients and a ${(String(example.html).length / 1024).toFixed(1)} KB HTML template ` +
    `(intake and card: ${((performance.now() - intakeStarted) / 1000).toFixed(1)} s); a bare Bolt app beside it; ${PEOPLE} approvers`,
);

// ---- the load client ----

interface Round {
  latencies: number[];
  cpuMs: number;
  viewsOpened: number;
  refusals: string[];
  /** What the stand-in spent meanwhile: Slack's side, on the same two cores. */
  standinCpuMs: number;
  /** How old the first trigger id was when the burst went out: Slack's 3 seconds count from its issue. */
  triggerAgeMs: number;
}

/** Sends every body at once (a connection each, as a burst from Slack arrives) and times each to its full response. */
async function burst(url: string, bodies: string[]): Promise<number[]> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const target = new URL("/slack/events", url);
  const signed = bodies.map((body) => ({ body, headers: signSlackRequest(body, SIGNING_SECRET) }));
  const started = performance.now();
  const times = await Promise.all(
    signed.map(
      ({ body, headers }) =>
        new Promise<number>((resolve, reject) => {
          const req = request(
            target,
            { method: "POST", agent, headers: { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body), ...headers } },
            (res) => {
              res.resume();
              res.on("end", () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`HTTP ${res.statusCode} from ${url}`))));
            },
          );
          req.on("error", reject);
          req.end(body);
        }),
    ),
  );
  agent.destroy();
  return times;
}

const formBody = (payload: Record<string, unknown>) => `payload=${encodeURIComponent(JSON.stringify(payload))}`;

/** The bodies Slack sends for these clicks, and their trigger ids. */
async function previewClicks(count: number): Promise<{ bodies: string[]; triggerIds: string[] }> {
  const { payloads } = await askStandin<{ payloads: Record<string, unknown>[] }>({ type: "clicks", count, actionId: ActionId.preview, card });
  return { bodies: payloads.map(formBody), triggerIds: payloads.map((payload) => String(payload.trigger_id)) };
}

/** The moment the people click: their trigger ids' 3 seconds start; returns how long ago that was when the burst went out. */
async function clickNow(triggerIds: string[]): Promise<() => number> {
  const { at } = await askStandin<{ at: number }>({ type: "clicked", triggerIds });
  return () => Date.now() - at;
}

/** One burst at one app; for sendgate, waits until its work after the acknowledgements reached Slack. */
async function round(app: "sendgate" | "bare", count: number): Promise<Round> {
  await askStandin({ type: "calls" }); // forget what came before
  const { bodies, triggerIds } = await previewClicks(count);
  const pid = app === "sendgate" ? sendgate.pid! : bare.pid!;
  const cpuBefore = mainThreadCpuMs(pid);
  const standinBefore = mainThreadCpuMs(standin.pid!);
  const age = await clickNow(triggerIds);
  const triggerAgeMs = age();
  const latencies = await burst(app === "sendgate" ? sendgateUrl : bareUrl, bodies);
  let viewsOpened = 0;
  const refusals: string[] = [];
  if (app === "sendgate") {
    const deadline = Date.now() + 15_000;
    while (viewsOpened + refusals.length < count && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const calls = await askStandin<{ byMethod: Record<string, { ok: number }>; refusals: string[] }>({ type: "calls" });
      viewsOpened += calls.byMethod["views.open"]?.ok ?? 0;
      refusals.push(...calls.refusals);
    }
  }
  return { latencies, cpuMs: mainThreadCpuMs(pid) - cpuBefore, standinCpuMs: mainThreadCpuMs(standin.pid!) - standinBefore, viewsOpened, refusals, triggerAgeMs };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const ms = (n: number) => `${n.toFixed(0)} ms`;

// Warm-up: both apps compile their paths, open their connections and fill their caches.
for (let i = 0; i < (quick ? 1 : 2); i++) {
  await round("sendgate", 20);
  await round("bare", 20);
}

/** The next message of this type from a child. */
const reply = (child: ChildProcess, type: string) =>
  new Promise<Record<string, unknown>>((resolve) => {
    const listen = (message: Record<string, unknown>) => {
      if (message.type !== type) return;
      child.off("message", listen);
      resolve(message);
    };
    child.on("message", listen);
  });

if (profileDir) {
  const started = reply(sendgate, "profile-started");
  sendgate.send({ type: "profile-start" });
  await started;
}
const MIX_ROUNDS = quick ? 0 : Number(process.env.BENCH_MIX_ROUNDS ?? 2);
const results: Record<"sendgate" | "bare", Round[]> = { sendgate: [], bare: [] };
for (let r = 0; r < ROUNDS; r++) {
  // Alternating which goes first, so a noisy moment on the machine falls on both alike.
  const order: Array<"sendgate" | "bare"> = r % 2 === 0 ? ["sendgate", "bare"] : ["bare", "sendgate"];
  for (const app of order) {
    results[app].push(await round(app, CLICKS));
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** Ends a profile of sendgate's main thread begun at the start of the measured rounds (BENCH_CPU_PROF), under a name of its own. */
async function profileUpTo(name: string, { more }: { more: boolean }) {
  if (!profileDir) return;
  const written = reply(sendgate, "profile-written");
  sendgate.send({ type: "profile-stop", name });
  console.log(`  sendgate's CPU profile of the ${name}: ${String((await written).file)}`);
  if (!more) return;
  const started = reply(sendgate, "profile-started");
  sendgate.send({ type: "profile-start" });
  await started;
}
await profileUpTo("preview-rounds", { more: MIX_ROUNDS > 0 });

/**
 * The second figure: a burst as a busy channel sends it, Preview clicks with approvals (after their
 * confirmation) and `/sendings pending` among them, whose answer is the acknowledgement itself.
 */
const MIX = { previews: 140, approvals: 20, commands: 40 };
type MixKind = "preview" | "approval" | "command";
async function mixRound(app: "sendgate" | "bare", r: number): Promise<Round & { byKind: Record<MixKind, number[]> }> {
  await askStandin({ type: "calls" });
  const previews = await askStandin<{ payloads: Record<string, unknown>[] }>({ type: "clicks", count: MIX.previews, actionId: ActionId.preview, card });
  const approvals = await askStandin<{ payloads: Record<string, unknown>[] }>({ type: "clicks", count: MIX.approvals, actionId: ActionId.approve, card, offset: r * MIX.approvals });
  const commands = await askStandin<{ payloads: Record<string, string>[] }>({ type: "commands", count: MIX.commands, text: "pending" });
  const clicks = [
    ...previews.payloads.map((payload) => ({ kind: "preview" as const, body: formBody(payload) })),
    ...approvals.payloads.map((payload) => ({ kind: "approval" as const, body: formBody(payload) })),
  ];
  const typed = commands.payloads.map((fields) => ({ kind: "command" as const, body: new URLSearchParams(fields).toString() }));
  // Interleaved as they would arrive: a command every fifth request.
  const requests: Array<{ kind: MixKind; body: string }> = [];
  while (clicks.length > 0 || typed.length > 0) {
    requests.push(...clicks.splice(0, 4));
    if (typed.length > 0) requests.push(typed.shift()!);
  }
  const bodies = requests.map((r) => r.body);
  const triggerIds = [...previews.payloads, ...approvals.payloads].map((payload) => String(payload.trigger_id));
  const pid = app === "sendgate" ? sendgate.pid! : bare.pid!;
  const cpuBefore = mainThreadCpuMs(pid);
  const standinBefore = mainThreadCpuMs(standin.pid!);
  const triggerAgeMs = (await clickNow(triggerIds))();
  const latencies = await burst(app === "sendgate" ? sendgateUrl : bareUrl, bodies);
  const byKind = { preview: [], approval: [], command: [] } as Record<MixKind, number[]>;
  latencies.forEach((latency, i) => byKind[requests[i]!.kind].push(latency));
  let viewsOpened = 0;
  const refusals: string[] = [];
  if (app === "sendgate") {
    const deadline = Date.now() + 15_000;
    while (viewsOpened + refusals.length < MIX.previews && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const calls = await askStandin<{ byMethod: Record<string, { ok: number }>; refusals: string[] }>({ type: "calls" });
      viewsOpened += calls.byMethod["views.open"]?.ok ?? 0;
      refusals.push(...calls.refusals);
    }
    // The approvals' card updates and thread notes go out through the outbox meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return { latencies, byKind, cpuMs: mainThreadCpuMs(pid) - cpuBefore, standinCpuMs: mainThreadCpuMs(standin.pid!) - standinBefore, viewsOpened, refusals, triggerAgeMs };
}

const mixed: Record<"sendgate" | "bare", Array<Round & { byKind: Record<MixKind, number[]> }>> = { sendgate: [], bare: [] };
for (let r = 0; r < MIX_ROUNDS; r++) {
  for (const app of r % 2 === 0 ? (["sendgate", "bare"] as const) : (["bare", "sendgate"] as const)) {
    mixed[app].push(await mixRound(app, r));
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
if (MIX_ROUNDS > 0) await profileUpTo("mixed-rounds", { more: false });

function summary(rounds: Round[]) {
  const all = rounds.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const p99s = rounds.map((r) => percentile([...r.latencies].sort((a, b) => a - b), 99));
  const clicks = rounds.reduce((n, r) => n + r.latencies.length, 0);
  const cpu = rounds.reduce((n, r) => n + r.cpuMs, 0);
  return { p50: percentile(all, 50), p99: percentile(all, 99), p99s, cpuPerClick: cpu / clicks, clicks };
}

const s = summary(results.sendgate);
const b = summary(results.bare);
const opened = results.sendgate.reduce((n, r) => n + r.viewsOpened, 0);
const refusals = results.sendgate.flatMap((r) => r.refusals);
const ratio = s.p99 / b.p99;
console.log(`${ROUNDS} rounds of ${CLICKS} simultaneous Preview clicks at each app, one load client, rounds alternating:`);
console.log(`  sendgate:  ack p50 ${ms(s.p50)}, p99 ${ms(s.p99)} (per round: ${s.p99s.map(ms).join(", ")}); main-thread CPU ${s.cpuPerClick.toFixed(2)} ms a click, ack and work after it`);
console.log(`  bare Bolt: ack p50 ${ms(b.p50)}, p99 ${ms(b.p99)} (per round: ${b.p99s.map(ms).join(", ")}); main-thread CPU ${b.cpuPerClick.toFixed(2)} ms a click, ack only`);
console.log(`  work after the ack: about ${(s.cpuPerClick - b.cpuPerClick).toFixed(2)} ms of main-thread CPU a click (sendgate's less the bare app's)`);
const standinPerClick = results.sendgate.reduce((n, r) => n + r.standinCpuMs, 0) / s.clicks;
console.log(`  the Slack stand-in spent ${standinPerClick.toFixed(2)} ms of CPU a click of sendgate's (checking and storing each modal), on the same cores`);
console.log(`  trigger ids were up to ${ms(Math.max(...results.sendgate.map((r) => r.triggerAgeMs)))} old when a burst went out, counted from the click (Slack accepts them for 3 s)`);
console.log(`  Slack received ${opened} of ${s.clicks} Preview modals (views.open)${refusals.length > 0 ? `; refused: ${[...new Set(refusals)].join(", ")} (${refusals.length})` : ", none refused"}`);
const met = ratio <= GOAL_RATIO && opened === s.clicks;
console.log(`  goal: p99 at most ${GOAL_RATIO}× the bare app's, every modal opened: ${ratio.toFixed(2)}× → ${met ? "ok" : "not met"}`);

if (MIX_ROUNDS > 0) {
  const ms2 = summary(mixed.sendgate);
  const mb = summary(mixed.bare);
  const mixOpened = mixed.sendgate.reduce((n, r) => n + r.viewsOpened, 0);
  console.log(
    `${MIX_ROUNDS} rounds of a mixed burst (${MIX.previews} Preview clicks, ${MIX.approvals} approvals after their confirmation, ${MIX.commands} \`/sendings pending\`, whose answer is the acknowledgement):`,
  );
  console.log(`  sendgate:  ack p50 ${ms(ms2.p50)}, p99 ${ms(ms2.p99)}; main-thread CPU ${ms2.cpuPerClick.toFixed(2)} ms a request, ack and work after it`);
  console.log(`  bare Bolt: ack p50 ${ms(mb.p50)}, p99 ${ms(mb.p99)}; main-thread CPU ${mb.cpuPerClick.toFixed(2)} ms a request`);
  const kindP99 = (rounds: typeof mixed.sendgate, kind: MixKind) => ms(percentile(rounds.flatMap((r) => r.byKind[kind]).sort((a, b) => a - b), 99));
  for (const app of ["sendgate", "bare"] as const) {
    console.log(`  ${app === "sendgate" ? "sendgate: " : "bare Bolt:"} p99 by kind: Preview ${kindP99(mixed[app], "preview")}, approval ${kindP99(mixed[app], "approval")}, \`/sendings pending\` ${kindP99(mixed[app], "command")}`);
  }
  const mixRatio = ms2.p99 / mb.p99;
  const mixMet = mixRatio <= GOAL_RATIO && mixOpened === MIX.previews * MIX_ROUNDS;
  console.log(`  Slack received ${mixOpened} of ${MIX.previews * MIX_ROUNDS} Preview modals`);
  console.log(`  goal: p99 at most ${GOAL_RATIO}× the bare app's in the mixed burst too, every modal opened: ${mixRatio.toFixed(2)}× → ${mixMet ? "ok" : "not met"}`);
}
const sendgateErrors = loggedErrors();
if (sendgateErrors.size > 0) console.log(`  sendgate logged errors: ${[...sendgateErrors].map(([what, n]) => `${what} ×${n}`).join("; ")}`);

// ---- stop ----

const exited = (child: ChildProcess) => new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once("exit", resolve)));
sendgate.kill("SIGTERM");
bare.send({ type: "stop" });
standin.send({ type: "stop", seq: 0 });
await Promise.all([exited(sendgate), exited(bare), exited(standin)]);
