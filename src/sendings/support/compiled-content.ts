import { compileSending, templateVariables, type CompiledSending, type TemplateSources } from "../../mail/templates.js";
import { createBoundedCache } from "./bounded-cache.js";

/** A sending's templates compiled, and the variable paths they read: derived once per content. */
export interface CompiledContent {
  compiled: CompiledSending;
  variables: readonly string[];
}

/** Sendings being previewed at once; a compiled 6 KB template weighs a few tens of KB. */
const COMPILED_LIMIT = 64;
const compiledBySending = createBoundedCache<string, CompiledContent>(COMPILED_LIMIT);

/**
 * The sending's templates compiled, from the cache when this content was compiled before. Keyed by
 * the sending and the content hash read in the same row as the templates, which changes with any
 * change of content: a template edited since can never come back from here.
 */
export function compiledContent(sending: TemplateSources & { id: string; contentHash: string }): CompiledContent {
  const key = `${sending.id}:${sending.contentHash}`;
  const known = compiledBySending.get(key);
  if (known) return known;
  const compiled = { compiled: compileSending(sending), variables: Object.freeze(templateVariables(sending)) };
  compiledBySending.set(key, compiled);
  return compiled;
}
