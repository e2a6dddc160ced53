export const postgresUrl = () => process.env.TEST_POSTGRES_URL || undefined;

export function databaseUrlFor(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export const adminUrl = (url: string) => databaseUrlFor(url, "postgres");
