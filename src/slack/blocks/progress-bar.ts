const BAR_WIDTH = 20;

/** A bar of what is done, drawn as plain text (no code span, which Slack colours red). */
export function progressBar(done: number, total: number): string {
  const filled = total > 0 ? Math.min(BAR_WIDTH, Math.floor((done / total) * BAR_WIDTH)) : 0;
  return `${"▓".repeat(filled)}${"░".repeat(BAR_WIDTH - filled)}`;
}
