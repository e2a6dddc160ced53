/**
 * Types that tie a response's zod schema to the result it describes, so that neither changes alone:
 * `const _: SameType<z.output<typeof createdSendingJson>, AsJson<CreatedSending>> = true`.
 */

/** T as `JSON.stringify` writes it: dates become ISO strings, the rest keeps its shape. */
export type AsJson<T> = T extends Date
  ? string
  : T extends readonly (infer Item)[]
    ? AsJson<Item>[]
    : T extends object
      ? { [K in keyof T]: AsJson<T[K]> }
      : T;

/** `true` only when A and B are one type (a field added, renamed or made optional on one side makes it `false`). */
export type SameType<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
