export type Provider = "sqlite" | "postgresql";

export function providerOf(databaseUrl: string): Provider {
  if (databaseUrl.startsWith("file:")) return "sqlite";
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return "postgresql";
  throw new Error(`DATABASE_URL must start with "file:" or "postgresql://", got "${databaseUrl.split(":")[0]}:…"`);
}

/** The file behind a SQLite URL (file:./data/sendgate.db → ./data/sendgate.db). */
export function sqliteFile(databaseUrl: string): string {
  return databaseUrl.replace(/^file:/, "").replace(/\?.*$/, "");
}
