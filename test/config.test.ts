import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";

const valid = {
  SLACK_BOT_TOKEN: "xoxb-1-2-3",
  SLACK_SIGNING_SECRET: "secret",
  SLACK_APPROVALS_CHANNEL: "C0APPROVALS",
  APPROVERS: "U0AAA, S0GROUP",
  API_TOKENS: "0123456789abcdef0123456789abcdef0123",
};

const problemsOf = (env: Record<string, string | undefined>) => {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected the configuration to be refused");
};

describe("loadConfig", () => {
  it("applies the embedded defaults", () => {
    const config = loadConfig(valid);
    expect(config.databaseUrl).toBe("file:./data/sendgate.db");
    expect(config.mail.smtpUrl).toBeUndefined();
    expect(config.mail.outboxDir).toBe("./data/outbox");
    expect(config.http.port).toBe(3000);
    expect(config.slack.apiUrl).toBe("https://slack.com/api/");
    expect(config.approval).toEqual({ approvers: ["U0AAA", "S0GROUP"], requiredApprovals: 1, allowSelfApproval: false });
    expect(config.sender.cron).toBe("*/5 * * * * *");
  });

  it("names a missing Slack token and says what to do", () => {
    const { SLACK_BOT_TOKEN: _, ...env } = valid;
    const [problem, ...rest] = problemsOf(env);
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^SLACK_BOT_TOKEN is required: the bot token \(xoxb-…\)/);
  });

  it("parses booleans explicitly: \"false\" is false, anything but true/false is refused", () => {
    expect(loadConfig({ ...valid, ALLOW_SELF_APPROVAL: "false" }).approval.allowSelfApproval).toBe(false);
    expect(loadConfig({ ...valid, ALLOW_SELF_APPROVAL: "true" }).approval.allowSelfApproval).toBe(true);
    expect(problemsOf({ ...valid, ALLOW_SELF_APPROVAL: "yes" })).toEqual(['ALLOW_SELF_APPROVAL must be "true" or "false"']);
  });

  it.each([
    ["SLACK_APPROVALS_CHANNEL", "#approvals", /channel ID/],
    ["APPROVERS", "alice", /user ID/],
    ["REQUIRED_APPROVALS", "0", /REQUIRED_APPROVALS/],
    ["DATABASE_URL", "mysql://x", /file:.*postgresql/],
    ["SMTP_URL", "http://mail", /smtp:\/\//],
    ["PORT", "99999", /PORT/],
    ["API_TOKENS", "short", /32 characters/],
  ])("refuses %s=%s with a message naming it", (name, value, message) => {
    const problems = problemsOf({ ...valid, [name]: value });
    expect(problems.join("\n")).toMatch(new RegExp(`^${name}`, "m"));
    expect(problems.join("\n")).toMatch(message);
  });

  describe("API_TOKENS", () => {
    const tokensOf = (value: string) => loadConfig({ ...valid, API_TOKENS: value }).http.apiTokens;

    it("reads name:token entries, and names a bare token by its position", () => {
      expect(tokensOf("crm:0123456789abcdef0123456789abcdef0123, 0123456789abcdef0123456789abcdef-bare ,ops.team_2:fedcba9876543210fedcba9876543210:with-colon")).toEqual([
        { name: "crm", token: "0123456789abcdef0123456789abcdef0123" },
        { name: "token-2", token: "0123456789abcdef0123456789abcdef-bare" },
        { name: "ops.team_2", token: "fedcba9876543210fedcba9876543210:with-colon" },
      ]);
      expect(loadConfig(valid).http.apiTokens).toEqual([{ name: "token-1", token: "0123456789abcdef0123456789abcdef0123" }]);
    });

    it.each([
      ["a name used twice", "crm:0123456789abcdef0123456789abcdef0123,crm:0123456789abcdef0123456789abcdef4567", /^API_TOKENS names crm twice \(entries 1 and 2\); give each token a name of its own$/],
      ["a bare token whose position name is taken", "token-2:0123456789abcdef0123456789abcdef0123,0123456789abcdef0123456789abcdef4567", /^API_TOKENS names token-2 twice \(entries 1 and 2\)/],
      ["a name with other characters", "my crm:0123456789abcdef0123456789abcdef0123", /^API_TOKENS entry 1: the name "my crm" may contain only letters, digits, "-", "_" and "\."/],
      ["an empty name", ":0123456789abcdef0123456789abcdef0123", /^API_TOKENS entry 1: the name "" may contain only/],
      ["a short token", "crm:0123456789abcdef0123456789abcdef0123,ops:short", /^API_TOKENS entry 2 \(ops\): each token must be at least 32 characters$/],
      ["the placeholder of .env.example", "crm:change-me-to-a-long-random-token", /^API_TOKENS entry 1 \(crm\): the token is a placeholder from \.env\.example/],
      ["one token under two names", "crm:0123456789abcdef0123456789abcdef0123,ops:0123456789abcdef0123456789abcdef0123", /^API_TOKENS entries 1 and 2 have the same token; give each client a token of its own$/],
    ])("refuses %s at start-up, without showing the token", (_, value, message) => {
      const problems = problemsOf({ ...valid, API_TOKENS: value });
      expect(problems).toEqual([expect.stringMatching(message)]);
      expect(problems[0]).not.toContain("0123456789abcdef0123456789abcdef");
    });
  });

  describe("OPERATOR_TOKENS", () => {
    const operatorTokensOf = (value?: string) => loadConfig({ ...valid, OPERATOR_TOKENS: value }).http.operatorTokens;

    it("is empty unless set, and reads entries as API_TOKENS does", () => {
      expect(operatorTokensOf()).toEqual([]);
      expect(operatorTokensOf("oncall:fedcba9876543210fedcba9876543210fedc, fedcba9876543210fedcba9876543210-bare")).toEqual([
        { name: "oncall", token: "fedcba9876543210fedcba9876543210fedc" },
        { name: "token-2", token: "fedcba9876543210fedcba9876543210-bare" },
      ]);
    });

    it.each([
      ["a short token", "oncall:short", /^OPERATOR_TOKENS entry 1 \(oncall\): each token must be at least 32 characters$/],
      ["a name used twice", "oncall:fedcba9876543210fedcba9876543210fedc,oncall:fedcba9876543210fedcba9876543210abcd", /^OPERATOR_TOKENS names oncall twice \(entries 1 and 2\)/],
      ["the placeholder of the manifests' example Secret", "oncall:replace-with-a-random-token", /^OPERATOR_TOKENS entry 1 \(oncall\): the token is a placeholder/],
    ])("refuses %s with the checks of API_TOKENS", (_, value, message) => {
      expect(problemsOf({ ...valid, OPERATOR_TOKENS: value })).toEqual([expect.stringMatching(message)]);
    });

    it("refuses a token that is in both lists, naming both entries and never the token", () => {
      const problems = problemsOf({
        ...valid,
        API_TOKENS: "crm:0123456789abcdef0123456789abcdef0123,cli:fedcba9876543210fedcba9876543210fedc",
        OPERATOR_TOKENS: "oncall:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,fedcba9876543210fedcba9876543210fedc",
      });
      expect(problems).toEqual([
        "OPERATOR_TOKENS entry 2 (token-2) has the same token as API_TOKENS entry 2 (cli); give operators tokens of their own, which no intake client holds",
      ]);
      // The same name in both lists is two tokens, told apart in the audit as api:crm and operator:crm.
      expect(loadConfig({ ...valid, API_TOKENS: "crm:0123456789abcdef0123456789abcdef0123", OPERATOR_TOKENS: "crm:fedcba9876543210fedcba9876543210fedc" }).http.operatorTokens).toEqual([
        { name: "crm", token: "fedcba9876543210fedcba9876543210fedc" },
      ]);
    });

    it("is reported in the same round as other problems", () => {
      const problems = problemsOf({ ...valid, PORT: "eighty", OPERATOR_TOKENS: "0123456789abcdef0123456789abcdef0123" });
      expect(problems).toEqual([
        'PORT must be a port number from 0 to 65535, not "eighty"',
        expect.stringMatching(/^OPERATOR_TOKENS entry 1 \(token-1\) has the same token as API_TOKENS entry 1 \(token-1\)/),
      ]);
    });
  });

  it("needs a signing secret in HTTP mode, not in Socket Mode", () => {
    const { SLACK_SIGNING_SECRET: _, ...env } = valid;
    expect(problemsOf(env).join()).toMatch(/SLACK_SIGNING_SECRET is required in HTTP mode/);
    expect(loadConfig({ ...env, SLACK_APP_TOKEN: "xapp-1-2" }).slack.appToken).toBe("xapp-1-2");
  });

  describe("playground mode", () => {
    it("starts with none of the Slack settings: its own tokens, the outbox, and an API token for the CLI", () => {
      const config = loadConfig({ SMTP_URL: "smtp://mail.example.com:587" });
      expect(config.playground).toBe(true);
      expect(config.slack.botToken).toMatch(/^xoxb-playground-[0-9a-f]{24}$/);
      expect(config.slack.signingSecret).toMatch(/^[0-9a-f]{64}$/);
      expect(config.approval.approvers).toEqual(["U0ALEX", "U0ROBIN", "S0REVIEWERS"]);
      expect(config.mail.smtpUrl).toBeUndefined();
      expect(config.http.apiTokens).toEqual([{ name: "playground", token: expect.stringMatching(/^playground-[0-9a-f]{32}$/) }]);
      expect(loadConfig({ API_TOKENS: "my-own-token-0123456789abcdef0123456789" }).http.apiTokens).toEqual([{ name: "token-1", token: "my-own-token-0123456789abcdef0123456789" }]);
      // Each start makes its own secrets.
      expect(loadConfig({}).slack.signingSecret).not.toBe(config.slack.signingSecret);
    });

    it("is refused when NODE_ENV=production: a deployment missing its secrets fails loudly", () => {
      const problems = problemsOf({ NODE_ENV: "production" });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^SLACK_BOT_TOKEN and every other Slack setting are missing, and NODE_ENV=production refuses the local playground/);
    });

    it.each([
      ["SLACK_BOT_TOKEN", "xoxb-1-2-3"],
      ["SLACK_APP_TOKEN", "xapp-1-2"],
      ["SLACK_SIGNING_SECRET", "secret"],
      ["SLACK_APPROVALS_CHANNEL", "C0APPROVALS"],
      ["APPROVERS", "U0AAA"],
    ])("any partial Slack configuration (only %s) stops start-up instead", (name, value) => {
      const problems = problemsOf({ [name]: value }).join("\n");
      for (const missing of ["SLACK_BOT_TOKEN", "SLACK_APPROVALS_CHANNEL", "APPROVERS"].filter((n) => n !== name)) expect(problems).toMatch(new RegExp(`^${missing}`, "m"));
    });
  });
});

describe("an honest start", () => {
  it("refuses the placeholders of .env.example, naming each one", () => {
    const example = {
      SLACK_BOT_TOKEN: "xoxb-replace-with-your-bot-token",
      SLACK_SIGNING_SECRET: "replace-with-your-signing-secret",
      SLACK_APPROVALS_CHANNEL: "C0000000000",
      APPROVERS: "U0000000000",
      API_TOKENS: "crm:change-me-to-a-long-random-token",
    };
    const problems = problemsOf(example);
    for (const name of Object.keys(example)) expect(problems.some((p) => p.startsWith(name)), name).toBe(true);
    expect(problems.filter((p) => p.includes("placeholder"))).toHaveLength(5);
  });

  it("says every problem in one round, in its own words, the settings between them included", () => {
    const problems = problemsOf({ SLACK_BOT_TOKEN: "xoxb-1-2-3", PORT: "eighty", SEND_RATE: "-1", SENDER_LEASE_SECONDS: "1.5" });
    expect(problems).toEqual(
      expect.arrayContaining([
        'PORT must be a port number from 0 to 65535, not "eighty"',
        'SEND_RATE must be a number of messages a second above 0, not "-1"',
        'SENDER_LEASE_SECONDS must be a whole number above 0, not "1.5"',
        expect.stringMatching(/^SLACK_APPROVALS_CHANNEL is required/),
        expect.stringMatching(/^APPROVERS must name at least one approver/),
      ]),
    );
    expect(problems.join("\n")).not.toMatch(/expected|received|NaN/i);
  });

  it("warns when the quorum can never be reached by the approvers listed", () => {
    expect(loadConfig({ ...valid, APPROVERS: "U0AAA", REQUIRED_APPROVALS: "2" }).warnings).toEqual([
      "REQUIRED_APPROVALS is 2 but APPROVERS lists 1 person and no user group: no sending can ever be approved",
    ]);
    // A user group may have any number of members: no warning.
    expect(loadConfig({ ...valid, REQUIRED_APPROVALS: "5" }).warnings).toEqual([]);
  });
});

describe("limits of a recipient's variables", () => {
  it("default to 8 levels and 32768 bytes, and take other values, sizes in units too", () => {
    expect(loadConfig(valid).recipientVars).toEqual({ maxDepth: 8, maxBytes: 32_768 });
    expect(loadConfig({ ...valid, RECIPIENT_VARS_MAX_DEPTH: "3", RECIPIENT_VARS_MAX_BYTES: "4096" }).recipientVars).toEqual({ maxDepth: 3, maxBytes: 4096 });
    expect(loadConfig({ ...valid, RECIPIENT_VARS_MAX_BYTES: "64kb" }).recipientVars.maxBytes).toBe(65_536);
  });

  it("refuse values that are no positive numbers", () => {
    expect(problemsOf({ ...valid, RECIPIENT_VARS_MAX_DEPTH: "0" })).toEqual([expect.stringMatching(/^RECIPIENT_VARS_MAX_DEPTH /)]);
    expect(problemsOf({ ...valid, RECIPIENT_VARS_MAX_DEPTH: "deep" })).toEqual([expect.stringMatching(/^RECIPIENT_VARS_MAX_DEPTH /)]);
    expect(problemsOf({ ...valid, RECIPIENT_VARS_MAX_BYTES: "0" })).toEqual(["RECIPIENT_VARS_MAX_BYTES must be more than 0 bytes"]);
    expect(problemsOf({ ...valid, RECIPIENT_VARS_MAX_BYTES: "lots" })).toEqual([expect.stringMatching(/^RECIPIENT_VARS_MAX_BYTES must be a size/)]);
  });
});

describe("SMTP timeouts", () => {
  it("default to 30 s to connect, 30 s for the greeting, 60 s of silence, and take fractions of a second", () => {
    expect(loadConfig(valid).mail.timeouts).toEqual({ connectionMs: 30_000, greetingMs: 30_000, socketMs: 60_000 });
    expect(
      loadConfig({ ...valid, SMTP_CONNECTION_TIMEOUT_SECONDS: "5", SMTP_GREETING_TIMEOUT_SECONDS: "0.5", SMTP_SOCKET_TIMEOUT_SECONDS: "120" }).mail.timeouts,
    ).toEqual({ connectionMs: 5_000, greetingMs: 500, socketMs: 120_000 });
  });

  it("refuse a wait that is no number of seconds above 0, naming the setting and the value", () => {
    expect(problemsOf({ ...valid, SMTP_CONNECTION_TIMEOUT_SECONDS: "0", SMTP_GREETING_TIMEOUT_SECONDS: "ten", SMTP_SOCKET_TIMEOUT_SECONDS: "100000" })).toEqual([
      'SMTP_CONNECTION_TIMEOUT_SECONDS must be a number of seconds above 0 and at most 86400, e.g. 30 or 0.5, not "0"',
      'SMTP_GREETING_TIMEOUT_SECONDS must be a number of seconds above 0 and at most 86400, e.g. 30 or 0.5, not "ten"',
      'SMTP_SOCKET_TIMEOUT_SECONDS must be a number of seconds above 0 and at most 86400, e.g. 30 or 0.5, not "100000"',
    ]);
  });
});
