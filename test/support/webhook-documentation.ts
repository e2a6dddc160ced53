import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsPlugin from "ajv-formats";
import { createOpenApiDocument } from "../../src/http/openapi.js";

// ajv-formats is CommonJS: its default export is the plugin itself at run time.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => Ajv2020;

/**
 * Checks a webhook body against the OpenAPI document's `webhooks` section, as an integrator's
 * generated client would: the schema documented for its `type`. Answers what is wrong, or undefined.
 */
export function webhookDocumentation() {
  const doc = createOpenApiDocument([]) as { webhooks: Record<string, unknown> };
  const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  ajv.addSchema(doc, "openapi.json");
  return {
    types: Object.keys(doc.webhooks),
    problemsOf(payload: { type?: unknown }): string | undefined {
      const type = String(payload.type);
      if (!(type in doc.webhooks)) return `the document has no webhook ${type}`;
      const validate = ajv.getSchema(`openapi.json#/webhooks/${type}/post/requestBody/content/application~1json/schema`);
      if (!validate) return `no schema documented for ${type}`;
      return validate(payload) ? undefined : JSON.stringify(validate.errors);
    },
  };
}
