import type { webApi } from "@slack/bolt";
import type { Logger } from "pino";
import type { ApproverDirectory } from "../sendings/support/ports.js";

const GROUP_TTL_MS = 60_000;

/**
 * Approvers are user IDs, or user group IDs whose members are looked up in Slack and kept for a
 * minute. A lookup that fails refuses: authority is never granted on an error.
 */
export function createApproverDirectory(client: webApi.WebClient, approvers: string[], log: Logger): ApproverDirectory {
  const users = new Set(approvers.filter((id) => !id.startsWith("S")));
  const groups = approvers.filter((id) => id.startsWith("S"));
  const cache = new Map<string, { members: Set<string>; until: number }>();

  async function membersOf(group: string): Promise<Set<string>> {
    const cached = cache.get(group);
    if (cached && cached.until > Date.now()) return cached.members;
    const result = await client.usergroups.users.list({ usergroup: group });
    const members = new Set(result.users ?? []);
    cache.set(group, { members, until: Date.now() + GROUP_TTL_MS });
    return members;
  }

  return {
    async isApprover(userId) {
      if (users.has(userId)) return true;
      for (const group of groups) {
        try {
          if ((await membersOf(group)).has(userId)) return true;
        } catch (error) {
          log.error({ err: error, group }, "could not read approver user group; refusing");
        }
      }
      return false;
    },
  };
}
