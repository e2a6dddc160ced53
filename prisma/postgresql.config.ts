import "./engine-env.js";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { defineConfig } from "prisma/config";
import { databaseUrl } from "./engine-env.js";

const NAME_OID = 19;
const TEXT_OID = 25;

type Field = { dataTypeID: number };
type Result = { fields?: Field[] } | undefined;

function nameColumnsAsText<R extends Result | Result[]>(result: R): R {
  for (const one of Array.isArray(result) ? result : [result]) {
    for (const field of one?.fields ?? []) if (field.dataTypeID === NAME_OID) field.dataTypeID = TEXT_OID;
  }
  return result;
}

/**
 * The migration engine reads catalog columns of type `name`, which @prisma/adapter-pg 6.19 refuses
 * to deserialize (prisma/orm#27403). Reporting them as text is exact: `name` is a short string.
 * Used for migrations only; the runtime client never reads the catalog.
 */
class CatalogFriendlyClient extends pg.Client {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    const callback = typeof args.at(-1) === "function" ? args.pop() : undefined;
    if (callback) {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return (super.query as any)(...args, (error: Error | null, result: Result) =>
        callback(error, error ? result : nameColumnsAsText(result)),
      );
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const returned = (super.query as any)(...args);
    return typeof returned?.then === "function" ? returned.then(nameColumnsAsText) : returned;
  }
}

export default defineConfig({
  experimental: { adapter: true },
  schema: "postgresql/schema.prisma",
  migrations: { path: "postgresql/migrations" },
  engine: "js",
  async adapter() {
    const pool = new pg.Pool({ connectionString: databaseUrl(), Client: CatalogFriendlyClient, allowExitOnIdle: true, idleTimeoutMillis: 100 });
    return new PrismaPg(pool);
  },
});
