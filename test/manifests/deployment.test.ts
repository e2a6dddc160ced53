// The Kubernetes manifests (manifests/k8s) and docker-compose.yml, checked against what sendgate's code
// and image actually do: the routes the server answers, the variables its config knows, the port and
// drain time it defaults to, the compiled entry points, and the Dockerfile's user and paths.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { posix } from "node:path";
import { pino } from "pino";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ConfigError, loadConfig } from "../../src/config.js";
import { createHttpServer, type HttpDeps } from "../../src/http/server.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

const K8S = "manifests/k8s";
const readYaml = (path: string): Doc => parse(readFileSync(path, "utf8"));

const deployment = readYaml(`${K8S}/deployment.yaml`);
const service = readYaml(`${K8S}/service.yaml`);
const pdb = readYaml(`${K8S}/pdb.yaml`);
const exampleSecret = readYaml(`${K8S}/secret.example.yaml`);
const kustomization = readYaml(`${K8S}/kustomization.yaml`);
const compose = readYaml("docker-compose.yml");

const pod = deployment.spec.template.spec;
const server: Doc = pod.containers.find((c: Doc) => c.name === "sendgate");
const migrator: Doc = pod.initContainers?.find((c: Doc) => c.name === "migrate");
const podLabels: Record<string, string> = deployment.spec.template.metadata.labels;

/** The plain `value` env entries of a container. */
const plainEnv = (container: Doc): Record<string, string> =>
  Object.fromEntries(container.env.filter((e: Doc) => "value" in e).map((e: Doc) => [e.name, String(e.value)]));
/** The env entries of a container that come from a Secret, by variable name. */
const secretEnv = (container: Doc): Record<string, Doc> =>
  Object.fromEntries(container.env.filter((e: Doc) => e.valueFrom?.secretKeyRef).map((e: Doc) => [e.name, e.valueFrom.secretKeyRef]));

/** Syntactically valid stand-ins for the Secret's values, to run the Deployment's env through the config. */
const SECRET_VALUES: Record<string, string> = {
  DATABASE_URL: "postgresql://sendgate:pw@db.internal:5432/sendgate",
  SLACK_BOT_TOKEN: "xoxb-1-2-3",
  SLACK_SIGNING_SECRET: "a-signing-secret",
  API_TOKENS: "crm:0123456789abcdef0123456789abcdef0123",
  OPERATOR_TOKENS: "oncall:fedcba9876543210fedcba9876543210fedc",
  SMTP_URL: "smtp://user:pw@smtp.internal:587",
};

/** The workspace's own values, which the Deployment ships as placeholders to replace (start-up refuses those). */
const WORKSPACE_VALUES: Record<string, string> = { SLACK_APPROVALS_CHANNEL: "C0APPROVALS", APPROVERS: "U0ANN,S0REVIEWERS" };

/** The keys of the zod object in src/config.ts: every environment variable sendgate reads. */
function configSchemaKeys(): Set<string> {
  const file = ts.createSourceFile("config.ts", readFileSync("src/config.ts", "utf8"), ts.ScriptTarget.Latest, true);
  const keys = new Set<string>();
  const visit = (node: ts.Node) => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      node.expression.expression.getText(file) === "z" &&
      node.expression.name.text === "object" &&
      node.arguments[0] &&
      ts.isObjectLiteralExpression(node.arguments[0])
    ) {
      for (const property of node.arguments[0].properties) {
        if (property.name && (ts.isIdentifier(property.name) || ts.isStringLiteral(property.name)) && /^[A-Z][A-Z0-9_]*$/.test(property.name.text)) {
          keys.add(property.name.text);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return keys;
}

/**
 * Variables the design's contract (DESIGN.md, "Environment") fixes for issues not built yet: the
 * manifests set them ahead of the code, which ignores them until then. Any other name the config does
 * not know is a typo that sendgate would silently ignore.
 */
const CONTRACT_NOT_BUILT_YET = new Set(["LOG_FORMAT"]);

/** The runtime stage of the Dockerfile: everything after the last FROM. */
function dockerRuntimeStage(): string[] {
  const lines = readFileSync("Dockerfile", "utf8").split("\n").map((l) => l.trim());
  const from = lines.map((l, i) => (/^FROM\s/i.test(l) ? i : -1)).filter((i) => i >= 0).at(-1)!;
  return lines.slice(from);
}
const dockerInstruction = (stage: string[], name: string) =>
  stage.filter((l) => l.toUpperCase().startsWith(`${name} `)).map((l) => l.slice(name.length).trim());

/** dist/x/y.js → src/x/y.ts, from tsconfig.build.json's rootDir and outDir (what `npm run build` emits). */
function sourceOf(compiled: string): string {
  const { config } = ts.readConfigFile("tsconfig.build.json", ts.sys.readFile);
  const { rootDir, outDir } = config.compilerOptions as { rootDir: string; outDir: string };
  expect(compiled.startsWith(`${outDir}/`), `${compiled} is not under ${outDir}/`).toBe(true);
  return `${rootDir}/${compiled.slice(outDir.length + 1).replace(/\.js$/, ".ts")}`;
}

const defaults = loadConfig({});
const shutdownSeconds = Number(plainEnv(server).SHUTDOWN_TIMEOUT_SECONDS);
const httpPort: Doc = server.ports.find((p: Doc) => p.name === "http");

describe("the Deployment", () => {
  it("runs two replicas", () => {
    expect(deployment.spec.replicas).toBe(2);
  });

  it("serves on the port sendgate listens on by default, named http", () => {
    expect(httpPort).toBeDefined();
    const port = plainEnv(server).PORT ?? String(defaults.http.port);
    expect(httpPort.containerPort).toBe(Number(port));
    expect(httpPort.containerPort).toBe(defaults.http.port);
  });

  describe("probes", () => {
    let baseUrl: string;
    let close: () => Promise<void>;
    beforeAll(async () => {
      // The real route table, with a database that answers: nothing of sendgate is started but the handler.
      const deps = {
        config: loadConfig({}),
        log: pino({ level: "silent" }),
        db: { provider: "postgresql", prisma: { $queryRawUnsafe: async () => [{ ok: 1 }] } },
      } as unknown as HttpDeps;
      const http = createHttpServer(deps);
      await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
      baseUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
      close = () => new Promise((resolve) => http.close(() => resolve()));
    });
    afterAll(() => close?.());

    it.each([
      ["readinessProbe", "/readyz"],
      ["livenessProbe", "/healthz"],
    ])("%s asks %s on the http port, which the server answers 200 without a token", async (probe, path) => {
      const get = server[probe].httpGet;
      expect(get.path).toBe(path);
      expect([httpPort.name, httpPort.containerPort]).toContain(get.port);
      const response = await fetch(`${baseUrl}${get.path}`);
      expect(response.status).toBe(200);
    });
  });

  it.each([
    ["migrate", () => migrator],
    ["sendgate", () => server],
  ])("the %s container runs as uid 1000, read-only, unprivileged, with no capabilities", (_name, container) => {
    expect(container().securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
  });

  it("gives the drain (preStop pause + SHUTDOWN_TIMEOUT_SECONDS, set explicitly) time before SIGKILL", () => {
    expect(shutdownSeconds).toBeGreaterThan(0);
    const preStop = server.lifecycle?.preStop?.exec?.command ?? [];
    const pause = preStop[0] === "sleep" ? Number(preStop[1]) : 0;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(pause + shutdownSeconds);
  });

  it("sets only variables the config schema knows (or DESIGN.md fixes for an issue not built yet)", () => {
    const known = configSchemaKeys();
    // The parse found the schema, not an empty set that would let anything through.
    expect(known).toContain("DATABASE_URL");
    expect(known).toContain("SHUTDOWN_TIMEOUT_SECONDS");
    expect(known.size).toBeGreaterThan(20);
    for (const container of [server, migrator]) {
      for (const { name } of container.env) {
        expect(known.has(name) || CONTRACT_NOT_BUILT_YET.has(name), `${container.name} sets ${name}, which sendgate does not read`).toBe(true);
      }
    }
  });

  it("is a valid production configuration once the Secret and the workspace's values are filled in", () => {
    const env = {
      ...plainEnv(server),
      ...WORKSPACE_VALUES,
      ...Object.fromEntries(Object.keys(secretEnv(server)).map((name) => [name, SECRET_VALUES[name]])),
    };
    const config = loadConfig(env);
    expect(config.playground).toBe(false);
    expect(env.NODE_ENV).toBe("production");
    expect(config.databaseUrl).toMatch(/^postgresql:\/\//);
    expect(config.migrateOnStart).toBe(false);
    expect(config.shutdownTimeoutMs).toBe(shutdownSeconds * 1000);
    expect(config.http.port).toBe(httpPort.containerPort);
  });

  it("reads every secret variable from the Secret that secret.example.yaml describes", () => {
    for (const container of [server, migrator]) {
      for (const [name, ref] of Object.entries(secretEnv(container))) {
        expect(ref.name).toBe(exampleSecret.metadata.name);
        expect(Object.keys(exampleSecret.stringData)).toContain(ref.key);
        expect(SECRET_VALUES, `no stand-in value for ${name}`).toHaveProperty(name);
      }
    }
    expect(Object.keys(secretEnv(server)).sort()).toEqual(
      ["API_TOKENS", "DATABASE_URL", "OPERATOR_TOKENS", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SMTP_URL"].sort(),
    );
    expect(Object.keys(plainEnv(server))).toEqual(expect.arrayContaining(["SLACK_APPROVALS_CHANNEL", "APPROVERS", "PUBLIC_URL", "LOG_FORMAT"]));
    expect(plainEnv(server).LOG_FORMAT).toBe("json");
  });

  it("does not start with secret.example.yaml's placeholders applied unedited", () => {
    const env = { ...plainEnv(server), ...exampleSecret.stringData };
    let refused: unknown;
    try {
      loadConfig(env);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).problems.join("\n")).toMatch(/API_TOKENS.*placeholder/);
    // The workspace's values left as shipped are refused in the same round, each by name.
    expect((refused as ConfigError).problems.join("\n")).toMatch(/SLACK_APPROVALS_CHANNEL is the placeholder/);
    expect((refused as ConfigError).problems.join("\n")).toMatch(/APPROVERS\S* is the placeholder/);
  });

  it("mounts an emptyDir at /tmp and over every path sendgate writes, since the root is read-only", () => {
    const workdir = dockerInstruction(dockerRuntimeStage(), "WORKDIR").at(-1) ?? "/";
    const emptyDirs = new Set(pod.volumes.filter((v: Doc) => v.emptyDir).map((v: Doc) => v.name));
    const mountedAt = (container: Doc, path: string) =>
      container.volumeMounts.some(
        (m: Doc) => emptyDirs.has(m.name) && !m.readOnly && (path === m.mountPath || path.startsWith(`${m.mountPath}/`)),
      );
    const outbox = posix.resolve(workdir, loadConfig({ ...plainEnv(server), ...WORKSPACE_VALUES, ...SECRET_VALUES }).mail.outboxDir);
    expect(mountedAt(server, "/tmp")).toBe(true);
    expect(mountedAt(server, outbox), `nothing writable mounted at the outbox ${outbox}`).toBe(true);
    expect(mountedAt(migrator, "/tmp")).toBe(true);
  });

  it("migrates in an init container with the same image, and serves with MIGRATE_ON_START=false", () => {
    expect(migrator).toBeDefined();
    expect(migrator.image).toBe(server.image);
    expect(migrator.command[0]).toBe("node");
    expect(sourceOf(migrator.command[1])).toBe("src/cli/migrate.ts");
    expect(existsSync("src/cli/migrate.ts")).toBe(true);
    expect(plainEnv(server).MIGRATE_ON_START).toBe("false");
    expect(loadConfig({ MIGRATE_ON_START: plainEnv(server).MIGRATE_ON_START }).migrateOnStart).toBe(false);
    expect(Object.keys(secretEnv(migrator))).toContain("DATABASE_URL");
  });

  it("runs the production command, which the build emits and the Dockerfile runs as well", () => {
    expect(server.command).toEqual(["node", "dist/main.js"]);
    expect(existsSync(sourceOf(server.command[1]))).toBe(true);
    const cmd = dockerInstruction(dockerRuntimeStage(), "CMD").at(-1);
    expect(JSON.parse(cmd ?? "null")).toEqual(server.command);
  });

  it("matches the image: user node (uid 1000), WORKDIR /app with dist/ and prisma/ in it", () => {
    const stage = dockerRuntimeStage();
    expect(stage[0]).toMatch(/^FROM\s+node:/i); // the node images' `node` user is uid 1000
    expect(["node", "1000"]).toContain(dockerInstruction(stage, "USER").at(-1)?.split(":")[0]);
    expect(dockerInstruction(stage, "WORKDIR").at(-1)).toBe("/app");
    // Where each COPY lands, resolved against the WORKDIR (`./dist`, `dist/` and `/app/dist` alike).
    const destinations = dockerInstruction(stage, "COPY").map((line) => posix.resolve("/app", line.split(/\s+/).at(-1)!));
    expect(destinations).toContain("/app/dist");
    expect(destinations).toContain("/app/prisma");
  });
});

describe("the Service, the PodDisruptionBudget and the kustomization", () => {
  const selects = (selector: Record<string, string>) =>
    Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => podLabels[k] === v);

  it("the Deployment's selector matches its own pods", () => {
    expect(selects(deployment.spec.selector.matchLabels)).toBe(true);
  });

  it("the Service is a ClusterIP on port 80 that targets the named http port of the pods", () => {
    expect(service.spec.type).toBe("ClusterIP");
    expect(selects(service.spec.selector)).toBe(true);
    expect(service.spec.ports).toEqual([expect.objectContaining({ port: 80, targetPort: httpPort.name })]);
  });

  it("the PodDisruptionBudget keeps one of the Deployment's pods", () => {
    expect(pdb.apiVersion).toBe("policy/v1");
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    expect(selects(pdb.spec.selector.matchLabels)).toBe(true);
  });

  it("the kustomization lists every manifest but the example Secret", () => {
    const manifests = readdirSync(K8S).filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml" && f !== "secret.example.yaml");
    expect([...kustomization.resources].sort()).toEqual(manifests.sort());
    expect(kustomization.resources).not.toContain("secret.example.yaml");
  });
});

describe("docker-compose.yml", () => {
  const { postgres, sendgate } = compose.services;
  const env: Record<string, string> = Object.fromEntries(Object.entries(sendgate.environment).map(([k, v]) => [k, String(v)]));

  it("runs PostgreSQL 15 with a volume and a healthcheck", () => {
    expect(postgres.image).toMatch(/^postgres:15(\b|$)/);
    expect(postgres.volumes.some((v: string) => v.endsWith(":/var/lib/postgresql/data"))).toBe(true);
    expect(postgres.healthcheck.test.join(" ")).toMatch(/pg_isready/);
  });

  it("builds sendgate from the Dockerfile and starts it once postgres is healthy, pointed at it", () => {
    expect(sendgate.build).toBe(".");
    expect(existsSync("Dockerfile")).toBe(true);
    expect(sendgate.depends_on.postgres.condition).toBe("service_healthy");
    const url = new URL(env.DATABASE_URL!);
    expect(url.hostname).toBe("postgres");
    expect(decodeURIComponent(url.username)).toBe(postgres.environment.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(postgres.environment.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${postgres.environment.POSTGRES_DB}`);
    expect(sendgate.env_file).toEqual([{ path: ".env", required: false }]);
  });

  it("publishes the port sendgate listens on, and sets only variables the config knows", () => {
    const config = loadConfig({ ...env, ...SECRET_VALUES, DATABASE_URL: env.DATABASE_URL, NODE_ENV: "production", ...WORKSPACE_VALUES });
    const containerPorts = sendgate.ports.map((p: string) => Number(String(p).split(":").at(-1)));
    expect(containerPorts).toEqual([config.http.port]);
    expect(config.http.port).toBe(defaults.http.port);
    const known = configSchemaKeys();
    for (const name of Object.keys(env)) expect(known.has(name), `compose sets ${name}, which sendgate does not read`).toBe(true);
  });

  it("waits longer than the drain before killing sendgate", () => {
    const grace = /^(\d+)s$/.exec(sendgate.stop_grace_period)?.[1];
    const drain = Number(env.SHUTDOWN_TIMEOUT_SECONDS ?? defaults.shutdownTimeoutMs / 1000);
    expect(Number(grace)).toBeGreaterThan(drain);
  });
});
