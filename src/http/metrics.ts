/** Prometheus text exposition, written by hand: a few counters and gauges need no library. */
export interface Metrics {
  countRequest(method: string, route: string, status: number): void;
  countAppendedRecipients(count: number): void;
  render(sendingsByStatus: Record<string, number>): string;
}

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

export function createMetrics(): Metrics {
  const requests = new Map<string, number>();
  let appended = 0;
  return {
    countRequest(method, route, status) {
      const key = `method="${escapeLabel(method)}",route="${escapeLabel(route)}",status="${status}"`;
      requests.set(key, (requests.get(key) ?? 0) + 1);
    },
    countAppendedRecipients(count) {
      appended += count;
    },
    render(sendingsByStatus) {
      const memory = process.memoryUsage();
      const lines = [
        "# HELP sendgate_sendings Sendings by status.",
        "# TYPE sendgate_sendings gauge",
        ...Object.entries(sendingsByStatus).map(([status, count]) => `sendgate_sendings{status="${escapeLabel(status)}"} ${count}`),
        "# HELP sendgate_recipients_appended_total Recipients appended through the intake API.",
        "# TYPE sendgate_recipients_appended_total counter",
        `sendgate_recipients_appended_total ${appended}`,
        "# HELP sendgate_http_requests_total HTTP requests by method, route and status.",
        "# TYPE sendgate_http_requests_total counter",
        ...[...requests].map(([labels, count]) => `sendgate_http_requests_total{${labels}} ${count}`),
        "# HELP process_resident_memory_bytes Resident memory size in bytes.",
        "# TYPE process_resident_memory_bytes gauge",
        `process_resident_memory_bytes ${memory.rss}`,
        "# HELP nodejs_heap_used_bytes V8 heap in use in bytes.",
        "# TYPE nodejs_heap_used_bytes gauge",
        `nodejs_heap_used_bytes ${memory.heapUsed}`,
        "# HELP nodejs_heap_total_bytes V8 heap allocated in bytes.",
        "# TYPE nodejs_heap_total_bytes gauge",
        `nodejs_heap_total_bytes ${memory.heapTotal}`,
      ];
      return `${lines.join("\n")}\n`;
    },
  };
}
