import { z } from "zod";
import { AppError } from "../../domain/errors.js";
import { checkTemplates, formatTemplateProblem, type TemplatePart } from "../../mail/templates.js";

/** Lower-cased and trimmed, so that "Ann@Example.com " and "ann@example.com" are one recipient. */
export const emailAddress = z
  .string({ message: "must be an e-mail address" })
  .trim()
  .toLowerCase()
  .pipe(z.email({ message: "is not a valid e-mail address" }));

const varValue = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  message: "must be a string, number, boolean or null (variables are one flat object)",
});

/** Personalization variables: one flat object, so that every template reads them the same way. */
export const recipientVars = z.record(z.string(), varValue, { message: "must be an object of variables" });

export const recipientInput = z.strictObject({
  email: emailAddress,
  vars: recipientVars.optional(),
});

/** One line of an NDJSON append: `{ "email": "ann@example.com", "vars": { "firstName": "Ann" } }`. */
export const recipientLine = recipientInput;
export type RecipientInput = z.output<typeof recipientInput>;

export const slackUserId = z
  .string({ message: "must be a Slack user ID" })
  .regex(/^[UW][A-Z0-9]{2,}$/, "must be a Slack user ID such as U0123ABCD");

/** A date with its offset: "2026-12-01T09:00:00+01:00" or "…Z"; a bare local time is ambiguous and refused. */
const launchAt = (now: () => Date) =>
  z
    .string({ message: "must be a date-time string" })
    .pipe(
      z.iso.datetime({
        offset: true,
        message: 'must be an ISO 8601 date-time with a time-zone offset, e.g. "2026-12-01T09:00:00+01:00" or "…Z"',
      }),
    )
    .transform((value) => new Date(value))
    .refine((date) => date.getTime() > now().getTime(), { message: "must be in the future" });

/** A Handlebars template that must compile; an error names the part and the line ("html, line 30: `{{#if vip}}` opened here is never closed"). */
const template = (part: TemplatePart, empty: string) =>
  z
    .string({ message: "must be a template string" })
    .min(1, empty)
    .superRefine((source, ctx) => {
      const sources = { subject: "", html: "", text: null, [part]: source };
      for (const problem of checkTemplates(sources)) {
        if (problem.part === part) ctx.addIssue({ code: "custom", message: formatTemplateProblem(problem) });
      }
    });

const name = z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters");

const contentFields = (now: () => Date) => ({
  name,
  subject: template("subject", "must not be empty").max(500, "must be at most 500 characters"),
  from: z.strictObject({ name: name.optional(), email: emailAddress }),
  replyTo: emailAddress.optional(),
  html: template("html", "must not be empty"),
  text: template("text", "must not be empty when given (leave it out to derive it from the HTML)").optional(),
  launchAt: launchAt(now),
});

const uniqueRecipients = z.array(recipientInput).superRefine((recipients, ctx) => {
  const firstIndex = new Map<string, number>();
  recipients.forEach((recipient, index) => {
    const first = firstIndex.get(recipient.email);
    if (first === undefined) firstIndex.set(recipient.email, index);
    else {
      ctx.addIssue({
        code: "custom",
        path: [index, "email"],
        message: `${recipient.email} is already recipients[${first}]; each address may appear once`,
      });
    }
  });
});

/** The Sending JSON of the intake API (see DESIGN.md). `now` decides what "in the past" means. */
export function sendingInputSchema(now: () => Date) {
  return z.strictObject({
    ...contentFields(now),
    requestedBy: slackUserId,
    recipients: uniqueRecipients.default([]),
  });
}

export type SendingInput = z.output<ReturnType<typeof sendingInputSchema>>;
/** The JSON a client sends, before normalization. */
export type SendingInputJson = z.input<ReturnType<typeof sendingInputSchema>>;

/**
 * A content change through `PUT /api/sendings/:id`: any of the content fields; `replyTo` and `text`
 * may be set to null to remove them. `changedBy` names the Slack user behind the change, if any.
 */
export function sendingChangeSchema(now: () => Date) {
  const fields = contentFields(now);
  return z
    .strictObject({
      name: fields.name.optional(),
      subject: fields.subject.optional(),
      from: fields.from.optional(),
      replyTo: emailAddress.nullable().optional(),
      html: fields.html.optional(),
      text: fields.text.unwrap().nullable().optional(),
      launchAt: fields.launchAt.optional(),
      changedBy: slackUserId.optional(),
    })
    .refine(({ changedBy: _by, ...content }) => Object.values(content).some((value) => value !== undefined), {
      message: "names no field to change (name, subject, from, replyTo, html, text, launchAt)",
    });
}

export type SendingChange = z.output<ReturnType<typeof sendingChangeSchema>>;

export interface InputIssue {
  path: (string | number)[];
  message: string;
}

export function issuesOf(error: z.ZodError): InputIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((key) => (typeof key === "symbol" ? String(key) : key)),
    message: issue.message,
  }));
}

/** A refusal of input that does not parse, with zod's issues for the caller to show. */
export function invalidInput(error: z.ZodError, what: string): AppError {
  const issues = issuesOf(error);
  const first = issues[0];
  const summary = first ? `${first.path.join(".") || what}: ${first.message}` : "invalid";
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  return new AppError("VALIDATION", `The ${what} is invalid: ${summary}${more}.`, { issues });
}
