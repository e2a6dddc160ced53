import type { Mailer } from "../mail/transport.js";
import type { SendingAnalyzer } from "../sendings/support/current-analysis.js";
import type { UseCaseDeps } from "../sendings/support/deps.js";
import type { ApprovalPolicy, ApproverDirectory } from "../sendings/support/ports.js";
import type { SendingViews } from "../sendings/support/sending-view.js";
import type { HomeTabs } from "./home-tabs.js";

/** What the listeners are given: the use cases' dependencies and who may decide. */
export interface SlackDeps extends UseCaseDeps {
  approvers: ApproverDirectory;
  policy: ApprovalPolicy;
  analyzer: SendingAnalyzer;
  /** A sending as its Slack surfaces show it. */
  views: SendingViews;
  /** The mailer real delivery uses; "Send me a test" goes through it too. */
  mailer: Mailer;
  unsubscribeUrl?: string;
  /** The Home tabs people open: published when opened, refreshed after changes. */
  home: HomeTabs;
  /** Signed links to a recipient's exact HTML; absent without PUBLIC_URL. */
  previewLinks?: { url(sendingId: string, recipientId: number): string };
}
