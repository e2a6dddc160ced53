import type { Config } from "../config.js";

/** Everything the delivery engine is tuned by; built from the config, or given directly by tests and benches. */
export interface SenderSettings {
  /**
   * Messages per second handed to the mailer, across all sendings of this process; and for one sending
   * across every engine delivering it (each goes at its share: the provider's limit does not grow with replicas).
   */
  rate: number;
  /** Messages in the mailer at once (the SMTP pool's connections). */
  concurrency: number;
  leaseSeconds: number;
  /** Recipients rendered and marked PREPARED ahead of delivery, at most. */
  prepareWindow: number;
  /** Attempts per recipient, the first one included, before a temporary failure becomes final. */
  maxAttempts: number;
  /** Delay before the first retry; each later one is four times longer. */
  retrySeconds: number;
  /** A SCHEDULED sending picked up later than this after its launch date waits, paused, instead of going out late. */
  lateLaunchLimitMinutes: number;
  errorBudget: { consecutive: number; ratio: number; window: number };
  /** `List-Unsubscribe` target for recipients without an `unsubscribeUrl` variable; {email}, {sendingId}, {recipientId} are filled in. */
  unsubscribeUrl?: string;
  /** Sendings one engine delivers at the same time. */
  maxSendings: number;
  /** How often the notifier hears about progress while a sending is delivered. */
  progressIntervalMs: number;
}

export function senderSettingsFrom(config: Pick<Config, "mail" | "sender">): SenderSettings {
  const { mail, sender } = config;
  return {
    rate: mail.rate,
    concurrency: mail.concurrency,
    leaseSeconds: sender.leaseSeconds,
    prepareWindow: sender.prepareWindow,
    maxAttempts: sender.maxAttempts,
    retrySeconds: sender.retrySeconds,
    lateLaunchLimitMinutes: sender.lateLaunchLimitMinutes,
    errorBudget: sender.errorBudget,
    unsubscribeUrl: mail.unsubscribeUrl,
    maxSendings: 4,
    progressIntervalMs: 2_000,
  };
}

/** Seconds to wait before attempt number `attempts + 1`, after `attempts` failed ones: 1×, 4×, 16×… the base. */
export function retryDelaySeconds(settings: Pick<SenderSettings, "retrySeconds">, attempts: number): number {
  return settings.retrySeconds * 4 ** Math.max(0, attempts - 1);
}
