import { createPrivateKey, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { parseWebhookSecrets, type WebhookSecret } from "./webhooks/signature.js";
import { PLAYGROUND } from "./playground/personas.js";

const USER_OR_GROUP = /^[USW][A-Z0-9]{2,}$/;

const bool = (fallback: boolean) =>
  z
    .enum(["true", "false"], { message: 'must be "true" or "false"' })
    .optional()
    .transform((value) => (value === undefined ? fallback : value === "true"));

const list = z
  .string()
  .optional()
  .transform((value) => (value ?? "").split(",").map((item) => item.trim()).filter(Boolean));

/** A number read from the environment, refused in sendgate's words ("must be a whole number above 0, not \"ten\""). */
const number = (fallback: number, rule: { integer?: boolean; min?: number; max?: number; above?: number; words: string }) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return fallback;
      const value = Number(raw.trim());
      const fits =
        raw.trim() !== "" &&
        Number.isFinite(value) &&
        (!rule.integer || Number.isInteger(value)) &&
        (rule.min === undefined || value >= rule.min) &&
        (rule.max === undefined || value <= rule.max) &&
        (rule.above === undefined || value > rule.above);
      if (!fits) {
        ctx.addIssue({ code: "custom", message: `must be ${rule.words}, not ${JSON.stringify(raw)}` });
        return z.NEVER;
      }
      return value;
    });

const positiveInt = (fallback: number) => number(fallback, { integer: true, min: 1, words: "a whole number above 0" });

/** A wait in seconds, fractions allowed (0.5); a day at most, since Node's timers cannot hold much more than 24 days. */
const seconds = (fallback: number) => number(fallback, { above: 0, max: 86_400, words: "a number of seconds above 0 and at most 86400, e.g. 30 or 0.5" });

/** The values .env.example ships with for Slack: a copy left unedited must not start. */
const PLACEHOLDER = /replace-with|change-me|^[CU]0{10}$/i;
const isNotPlaceholder = (value: string) => !PLACEHOLDER.test(value);
const placeholder = (what: string) => `is the placeholder from .env.example; put in ${what} (README: "Slack set-up")`;

/** A bearer token and the name the audit shows for what its holder does (`api:<name>`, `operator:<name>`). */
export interface NamedToken {
  name: string;
  token: string;
}

const TOKEN_NAME = /^[A-Za-z0-9._-]+$/;
const TOKEN_MIN_LENGTH = 32;
/** The values .env.example ships with: a copy left unedited must not open the API. */
const PLACEHOLDER_TOKEN = /change-me|replace-with/i;

/** Each entry `name:token`, or a bare token named by its position (`token-1`, `token-2`…). */
function tokenEntries(entries: string[]): NamedToken[] {
  return entries.map((entry, index) => {
    const colon = entry.indexOf(":");
    return colon === -1
      ? { name: `token-${index + 1}`, token: entry }
      : { name: entry.slice(0, colon).trim(), token: entry.slice(colon + 1).trim() };
  });
}

/**
 * Comma-separated bearer tokens, each `name:token`, or a bare token named by its position
 * (`token-1`, `token-2`…). Messages name the entry and its name, never the token itself.
 */
const namedTokens = list.transform((entries, ctx): NamedToken[] => {
  const problem = (message: string) => ctx.addIssue({ code: "custom", message });
  const tokens = tokenEntries(entries);
  const firstByName = new Map<string, number>();
  const firstByToken = new Map<string, number>();
  tokens.forEach(({ name, token }, index) => {
    const entry = `entry ${index + 1}`;
    if (!TOKEN_NAME.test(name)) {
      problem(`${entry}: the name ${JSON.stringify(name)} may contain only letters, digits, "-", "_" and "." (write name:token)`);
      return;
    }
    // The placeholder first: it is the more useful thing to hear about a copied .env.example.
    if (PLACEHOLDER_TOKEN.test(token)) {
      problem(`${entry} (${name}): the token is a placeholder from .env.example; use a random one, e.g. the output of \`openssl rand -hex 32\``);
    } else if (token.length < TOKEN_MIN_LENGTH) problem(`${entry} (${name}): each token must be at least ${TOKEN_MIN_LENGTH} characters`);
    const sameName = firstByName.get(name);
    if (sameName !== undefined) problem(`names ${name} twice (entries ${sameName + 1} and ${index + 1}); give each token a name of its own`);
    else firstByName.set(name, index);
    const sameToken = firstByToken.get(token);
    if (sameToken !== undefined) problem(`entries ${sameToken + 1} and ${index + 1} have the same token; give each client a token of its own`);
    else firstByToken.set(token, index);
  });
  return tokens;
});

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

const byteSize = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const match = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(value.trim());
      if (!match) {
        ctx.addIssue({ code: "custom", message: 'must be a size such as "512kb", "5mb" or "1gb"' });
        return z.NEVER;
      }
      return Number(match[1]) * (UNITS[(match[2] ?? "b").toLowerCase()] ?? 1);
    });

const databaseUrl = z
  .string()
  .default("file:./data/sendgate.db")
  .refine((url) => url.startsWith("file:") || /^postgres(ql)?:\/\//.test(url), {
    message: 'must start with "file:" (SQLite) or "postgresql://" (PostgreSQL)',
  });

const schema = z
  .object({
    DATABASE_URL: databaseUrl,
    SLACK_BOT_TOKEN: z
      .string()
      .regex(/^xoxb-/, 'must be a bot token starting with "xoxb-"')
      .refine(isNotPlaceholder, placeholder("the app's Bot User OAuth Token"))
      .optional(),
    SLACK_SIGNING_SECRET: z.string().min(1).refine(isNotPlaceholder, placeholder("the app's Signing Secret")).optional(),
    SLACK_APP_TOKEN: z.string().regex(/^xapp-/, 'must be an app-level token starting with "xapp-"').optional(),
    SLACK_API_URL: z.url().default("https://slack.com/api/"),
    SLACK_APPROVALS_CHANNEL: z
      .string()
      .regex(/^[CG][A-Z0-9]{2,}$/, "must be a channel ID such as C0123ABCD (not a #name)")
      .refine(isNotPlaceholder, placeholder("the ID of your approvals channel"))
      .optional(),
    APPROVERS: list.pipe(
      z.array(
        z
          .string()
          .regex(USER_OR_GROUP, "each entry must be a user ID (U…/W…) or a user group ID (S…)")
          .refine(isNotPlaceholder, placeholder("the Slack user IDs (U…) or user group IDs (S…) of your approvers")),
      ),
    ),
    REQUIRED_APPROVALS: positiveInt(1),
    ALLOW_SELF_APPROVAL: bool(false),
    PORT: number(3000, { integer: true, min: 0, max: 65535, words: "a port number from 0 to 65535" }),
    PUBLIC_URL: z.url().optional(),
    PREVIEW_LINK_SECRET: z
      .string()
      .min(32, "must be at least 32 characters, e.g. the output of `openssl rand -hex 32`")
      .optional(),
    PREVIEW_LINK_TTL_MINUTES: positiveInt(60),
    REMIND_BEFORE_MINUTES: positiveInt(120),
    API_TOKENS: namedTokens,
    OPERATOR_TOKENS: namedTokens,
    WEBHOOK_URLS: list.pipe(
      z.array(
        z
          .url({ protocol: /^https?$/, error: "each entry must be an http:// or https:// URL" })
          .refine(isNotPlaceholder, placeholder("the URLs where your system receives sendgate's events")),
      ),
    ),
    WEBHOOK_SECRET: z.string().optional(),
    API_BODY_LIMIT: byteSize("5mb"),
    API_NDJSON_LIMIT: byteSize("1gb"),
    RECIPIENT_VARS_MAX_DEPTH: positiveInt(8),
    RECIPIENT_VARS_MAX_BYTES: byteSize("32768").pipe(z.number().positive("must be more than 0 bytes")),
    SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@host:587')
      .optional(),
    OUTBOX_DIR: z.string().default("./data/outbox"),
    SEND_RATE: number(50, { above: 0, words: "a number of messages a second above 0" }),
    SEND_CONCURRENCY: positiveInt(4),
    SMTP_CONNECTION_TIMEOUT_SECONDS: seconds(30),
    SMTP_GREETING_TIMEOUT_SECONDS: seconds(30),
    SMTP_SOCKET_TIMEOUT_SECONDS: seconds(60),
    SENDER_CRON: z.string().default("*/5 * * * * *"),
    SENDER_LEASE_SECONDS: positiveInt(60),
    SENDER_PREPARE_WINDOW: positiveInt(200),
    SEND_MAX_ATTEMPTS: positiveInt(5),
    SEND_RETRY_SECONDS: positiveInt(60),
    LATE_LAUNCH_LIMIT_MINUTES: positiveInt(30),
    ERROR_BUDGET_CONSECUTIVE: positiveInt(20),
    ERROR_BUDGET_RATIO: number(0.2, { above: 0, max: 1, words: "a fraction between 0 and 1, e.g. 0.2" }),
    ERROR_BUDGET_WINDOW: positiveInt(200),
    UNSUBSCRIBE_URL: z
      .string()
      .regex(/^(https?:\/\/|mailto:)/, "must be an https://, http:// or mailto: URL; {email}, {sendingId} and {recipientId} are filled in")
      .optional(),
    DKIM_DOMAIN: z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, "must be a domain name such as acme.test").optional(),
    DKIM_SELECTOR: z.string().regex(/^[a-z0-9._-]+$/i, "must be a DNS label such as mail2026").optional(),
    DKIM_PRIVATE_KEY: z.string().optional(),
    DKIM_PRIVATE_KEY_FILE: z.string().optional(),
    LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
    LOG_FORMAT: z.enum(["json", "pretty"], { message: 'must be "json" or "pretty"' }).optional(),
    MIGRATE_ON_START: bool(true),
    SHUTDOWN_TIMEOUT_SECONDS: positiveInt(20),
    NODE_ENV: z.string().optional(),
  });

export type Env = z.input<typeof schema>;

/**
 * The checks between settings, on the raw environment: they run whatever else is wrong, so that
 * every problem is reported in one round.
 */
function settingsProblems(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const approvers = (env.APPROVERS ?? "").split(",").filter((entry) => entry.trim());
  if (isPlayground({ ...env, APPROVERS: approvers })) {
    if (env.NODE_ENV === "production") {
      problems.push(
        "SLACK_BOT_TOKEN and every other Slack setting are missing, and NODE_ENV=production refuses the local playground: set SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN), SLACK_APPROVALS_CHANNEL and APPROVERS",
      );
    }
    return problems;
  }
  // Some Slack settings but not all: a deployment missing a secret must fail, never fall back to the playground.
  if (!env.SLACK_BOT_TOKEN) problems.push("SLACK_BOT_TOKEN is required: the bot token (xoxb-…) from the Slack app's OAuth & Permissions page");
  if (!env.SLACK_APPROVALS_CHANNEL) problems.push("SLACK_APPROVALS_CHANNEL is required: the ID (C…) of the channel where sendings are posted for approval");
  if (approvers.length === 0) problems.push("APPROVERS must name at least one approver (user IDs U… or user group IDs S…, comma-separated)");
  if (!env.SLACK_APP_TOKEN && !env.SLACK_SIGNING_SECRET) {
    problems.push("SLACK_SIGNING_SECRET is required in HTTP mode (Basic Information → Signing Secret); or set SLACK_APP_TOKEN to use Socket Mode");
  }
  return problems;
}

/**
 * An operator token (pause, resume, cancel) must not also be an intake token: otherwise every system
 * that hands sendings in could also stop deliveries, and one token would go by two names.
 */
function sharedTokenProblems(env: Record<string, string | undefined>): string[] {
  const entriesOf = (value: string | undefined) => tokenEntries((value ?? "").split(",").map((item) => item.trim()).filter(Boolean));
  const intake = entriesOf(env.API_TOKENS);
  return entriesOf(env.OPERATOR_TOKENS).flatMap(({ name, token }, index) => {
    const same = intake.findIndex((entry) => entry.token === token);
    if (same === -1) return [];
    return [
      `OPERATOR_TOKENS entry ${index + 1} (${name}) has the same token as API_TOKENS entry ${same + 1} (${intake[same]!.name}); give operators tokens of their own, which no intake client holds`,
    ];
  });
}

/** Settings that start but will not work as meant: logged as warnings at start. */
function settingsWarnings(e: z.output<typeof schema>): string[] {
  const warnings: string[] = [];
  const users = e.APPROVERS.filter((id) => !id.startsWith("S"));
  const groups = e.APPROVERS.length - users.length;
  if (!isPlayground(e) && groups === 0 && e.REQUIRED_APPROVALS > users.length) {
    warnings.push(
      `REQUIRED_APPROVALS is ${e.REQUIRED_APPROVALS} but APPROVERS lists ${users.length} ${users.length === 1 ? "person" : "people"} and no user group: no sending can ever be approved`,
    );
  }
  return warnings;
}

const SLACK_SETTINGS = ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APPROVALS_CHANNEL", "APPROVERS"] as const;

/** None of the Slack settings: sendgate runs its local playground instead of connecting to Slack. */
function isPlayground(env: { SLACK_BOT_TOKEN?: string; SLACK_APP_TOKEN?: string; SLACK_SIGNING_SECRET?: string; SLACK_APPROVALS_CHANNEL?: string; APPROVERS: string[] }) {
  return SLACK_SETTINGS.every((name) => (name === "APPROVERS" ? env.APPROVERS.length === 0 : env[name] === undefined));
}

/** WEBHOOK_SECRET: required with WEBHOOK_URLS; several space-separated secrets while rotating. */
function webhookSecretsOf(env: Record<string, string | undefined>): { secrets: WebhookSecret[]; problems: string[] } {
  const urls = (env.WEBHOOK_URLS ?? "").split(",").filter((entry) => entry.trim());
  if (!env.WEBHOOK_SECRET) {
    return {
      secrets: [],
      problems: urls.length > 0 ? ["WEBHOOK_SECRET is required with WEBHOOK_URLS: receivers verify each event with it; make one with `echo whsec_$(openssl rand -base64 32)`"] : [],
    };
  }
  const { secrets, problems } = parseWebhookSecrets(env.WEBHOOK_SECRET);
  return { secrets, problems: problems.map((problem) => `WEBHOOK_SECRET ${problem}`) };
}

/** Every message is signed with this key (nodemailer's DKIM); the public key is published at <selector>._domainkey.<domain>. */
export interface DkimSettings {
  domainName: string;
  keySelector: string;
  privateKey: string;
}

/** DKIM is all or nothing: a domain, a selector and a private key that parses. */
function dkimOf(env: Record<string, string | undefined>): { dkim?: DkimSettings; problems: string[] } {
  const { DKIM_DOMAIN: domain, DKIM_SELECTOR: selector, DKIM_PRIVATE_KEY: inline, DKIM_PRIVATE_KEY_FILE: file } = env;
  if (!domain && !selector && !inline && !file) return { problems: [] };
  const problems: string[] = [];
  if (!domain) problems.push("DKIM_DOMAIN is required with the other DKIM settings: the domain the signature is made for");
  if (!selector) problems.push("DKIM_SELECTOR is required with the other DKIM settings: the selector its public key is published under");
  if (inline && file) problems.push("DKIM_PRIVATE_KEY and DKIM_PRIVATE_KEY_FILE are both set: give the key one way");
  let privateKey = inline?.replace(/\\n/g, "\n");
  if (!inline && file) {
    try {
      privateKey = readFileSync(file, "utf8");
    } catch (error) {
      problems.push(`DKIM_PRIVATE_KEY_FILE cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"}): ${file}`);
    }
  }
  if (!inline && !file) problems.push("DKIM_PRIVATE_KEY (or DKIM_PRIVATE_KEY_FILE) is required with the other DKIM settings: the PEM private key");
  if (privateKey) {
    try {
      const key = createPrivateKey(privateKey);
      if (key.asymmetricKeyType !== "rsa" && key.asymmetricKeyType !== "ed25519") {
        problems.push(`${inline ? "DKIM_PRIVATE_KEY" : "DKIM_PRIVATE_KEY_FILE"} is a ${key.asymmetricKeyType} key; DKIM signs with RSA or Ed25519`);
      }
    } catch {
      problems.push(`${inline ? "DKIM_PRIVATE_KEY" : "DKIM_PRIVATE_KEY_FILE"} is not a PEM private key (-----BEGIN PRIVATE KEY----- …)`);
    }
  }
  if (problems.length > 0 || !domain || !selector || !privateKey) return { problems };
  return { dkim: { domainName: domain.toLowerCase(), keySelector: selector, privateKey }, problems: [] };
}

export interface Config {
  databaseUrl: string;
  /**
   * No Slack settings at all: the Slack stand-in runs in-process as the playground, on 127.0.0.1
   * only, with mail to the outbox. The Slack values below are then the playground's own.
   */
  playground: boolean;
  slack: {
    botToken: string;
    signingSecret?: string;
    appToken?: string;
    apiUrl: string;
    approvalsChannel: string;
  };
  approval: { approvers: string[]; requiredApprovals: number; allowSelfApproval: boolean };
  http: {
    port: number;
    publicUrl?: string;
    /** Bearer tokens of the intake API, by name: the audit shows changes made with one as `api:<name>`. */
    apiTokens: NamedToken[];
    /**
     * Bearer tokens of the operator API (pause, resume, cancel, list), by name: the audit shows what
     * one does as `operator:<name>`. Empty: those routes are disabled.
     */
    operatorTokens: NamedToken[];
    bodyLimit: number;
    /** The larger limit of an NDJSON recipient upload, which is streamed rather than held in memory. */
    ndjsonLimit: number;
  };
  mail: {
    smtpUrl?: string;
    outboxDir: string;
    rate: number;
    concurrency: number;
    unsubscribeUrl?: string;
    dkim?: DkimSettings;
    /** How long an SMTP connection may take to open, to greet, and to answer anything; unset: 30 s, 30 s, 60 s. */
    timeouts?: SmtpTimeouts;
  };
  /** Where each change of a sending is sent as a signed event (Standard Webhooks); no URLs: none is. */
  webhooks: { urls: string[]; secrets: WebhookSecret[] };
  /** How large one recipient's variables may be: levels of nesting (the object itself the first), bytes of JSON. */
  recipientVars: { maxDepth: number; maxBytes: number };
  sender: {
    cron: string;
    leaseSeconds: number;
    prepareWindow: number;
    maxAttempts: number;
    /** First retry delay; each later one is four times longer. */
    retrySeconds: number;
    lateLaunchLimitMinutes: number;
    errorBudget: { consecutive: number; ratio: number; window: number };
  };
  preview: {
    /** Signs HTML preview links; when unset a key is derived from the Slack secrets (see previewLinkKey). */
    linkSecret?: string;
    linkTtlMinutes: number;
  };
  reminders: {
    /** A sending still pending approval this long before its launch pings the approvers once. */
    beforeMinutes: number;
  };
  logLevel: string;
  /** JSON lines for collectors, or readable lines; unset: readable when stdout is a terminal. */
  logFormat?: "json" | "pretty";
  /** Settings that start but will not work as meant, said once at start. */
  warnings: string[];
  /** Apply pending migrations before serving; off where an init container runs them. */
  migrateOnStart: boolean;
  /** How long a SIGTERM waits for the message in hand and the leases before the process exits anyway. */
  shutdownTimeoutMs: number;
}

/** Waits of an SMTP session, in milliseconds, for sendgate's pool and nodemailer's alike. */
export interface SmtpTimeouts {
  /** Until the TCP (or TLS) connection is open, and for a STARTTLS negotiation. */
  connectionMs: number;
  /** From the open connection to the server's 220 greeting. */
  greetingMs: number;
  /** Silence from the server for this long, at any later point (a message read and never answered), ends the session. */
  socketMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`sendgate cannot start, the environment has problems:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parses the environment once; nothing else in sendgate reads process.env. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  // Read once: the key may come from a file.
  const dkim = dkimOf(cleaned);
  const webhook = webhookSecretsOf(cleaned);
  const parsed = schema.safeParse(cleaned);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join(".") || "environment"} ${issue.message}`)),
    ...settingsProblems(cleaned),
    ...dkim.problems,
    ...sharedTokenProblems(cleaned),
    ...webhook.problems,
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  const playground = isPlayground(e);
  return {
    databaseUrl: e.DATABASE_URL,
    playground,
    slack: playground
      ? {
          botToken: `xoxb-playground-${randomBytes(12).toString("hex")}`,
          signingSecret: randomBytes(32).toString("hex"),
          // Known once the server listens: the stand-in is served on sendgate's own port.
          apiUrl: "",
          approvalsChannel: PLAYGROUND.approvalsChannel,
        }
      : {
          botToken: e.SLACK_BOT_TOKEN!,
          signingSecret: e.SLACK_SIGNING_SECRET,
          appToken: e.SLACK_APP_TOKEN,
          apiUrl: e.SLACK_API_URL.endsWith("/") ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`,
          approvalsChannel: e.SLACK_APPROVALS_CHANNEL!,
        },
    approval: {
      approvers: playground ? [...PLAYGROUND.approvers] : e.APPROVERS,
      requiredApprovals: e.REQUIRED_APPROVALS,
      allowSelfApproval: e.ALLOW_SELF_APPROVAL,
    },
    http: {
      port: e.PORT,
      publicUrl: e.PUBLIC_URL,
      // The playground makes a token for the CLI when none is configured; its banner prints it.
      apiTokens:
        playground && e.API_TOKENS.length === 0
          ? [{ name: "playground", token: `playground-${randomBytes(16).toString("hex")}` }]
          : e.API_TOKENS,
      operatorTokens: e.OPERATOR_TOKENS,
      bodyLimit: e.API_BODY_LIMIT,
      ndjsonLimit: e.API_NDJSON_LIMIT,
    },
    mail: {
      // The playground never sends real mail: everything goes to the outbox.
      smtpUrl: playground ? undefined : e.SMTP_URL,
      outboxDir: e.OUTBOX_DIR,
      rate: e.SEND_RATE,
      concurrency: e.SEND_CONCURRENCY,
      unsubscribeUrl: e.UNSUBSCRIBE_URL,
      dkim: dkim.dkim,
      timeouts: {
        connectionMs: Math.round(e.SMTP_CONNECTION_TIMEOUT_SECONDS * 1000),
        greetingMs: Math.round(e.SMTP_GREETING_TIMEOUT_SECONDS * 1000),
        socketMs: Math.round(e.SMTP_SOCKET_TIMEOUT_SECONDS * 1000),
      },
    },
    webhooks: { urls: e.WEBHOOK_URLS, secrets: webhook.secrets },
    recipientVars: { maxDepth: e.RECIPIENT_VARS_MAX_DEPTH, maxBytes: e.RECIPIENT_VARS_MAX_BYTES },
    sender: {
      cron: e.SENDER_CRON,
      leaseSeconds: e.SENDER_LEASE_SECONDS,
      prepareWindow: e.SENDER_PREPARE_WINDOW,
      maxAttempts: e.SEND_MAX_ATTEMPTS,
      retrySeconds: e.SEND_RETRY_SECONDS,
      lateLaunchLimitMinutes: e.LATE_LAUNCH_LIMIT_MINUTES,
      errorBudget: { consecutive: e.ERROR_BUDGET_CONSECUTIVE, ratio: e.ERROR_BUDGET_RATIO, window: e.ERROR_BUDGET_WINDOW },
    },
    preview: { linkSecret: e.PREVIEW_LINK_SECRET, linkTtlMinutes: e.PREVIEW_LINK_TTL_MINUTES },
    reminders: { beforeMinutes: e.REMIND_BEFORE_MINUTES },
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    warnings: settingsWarnings(e),
    migrateOnStart: e.MIGRATE_ON_START,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_SECONDS * 1000,
  };
}
