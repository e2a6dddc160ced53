/**
 * The playground's workspace: who a person trying sendgate can be. Two approvers (one of them
 * through a user group), the requester of the example sending, who is an approver too so that the
 * four-eyes rule shows, and someone who is not an approver at all. Time zones differ so that dates
 * show in each viewer's own.
 */
export type PersonaRole = "approver" | "requester" | "stranger";

export interface Persona {
  id: string;
  name: string;
  realName: string;
  role: PersonaRole;
  tz: string;
  email: string;
}

export const PLAYGROUND = {
  teamName: "Acme (playground)",
  approvalsChannel: "C0APPROVALS",
  approvalsChannelName: "sendgate-approvals",
  reviewersGroup: { id: "S0REVIEWERS", handle: "reviewers" },
  personas: [
    { id: "U0ALEX", name: "alex", realName: "Alex Morgan", role: "approver", tz: "Europe/Paris", email: "alex@acme.example" },
    { id: "U0BLAIR", name: "blair", realName: "Blair Chen", role: "approver", tz: "America/New_York", email: "blair@acme.example" },
    { id: "U0ROBIN", name: "robin", realName: "Robin Diaz", role: "requester", tz: "Asia/Tokyo", email: "robin@acme.example" },
    { id: "U0SAM", name: "sam", realName: "Sam Lee", role: "stranger", tz: "UTC", email: "sam@acme.example" },
  ] satisfies Persona[],
  /** Alex and Robin by name, Blair through the reviewers group: both ways of naming approvers show. */
  approvers: ["U0ALEX", "U0ROBIN", "S0REVIEWERS"],
  reviewers: ["U0BLAIR"],
} as const;
