/**
 * Where a template's blocks open and close, read from its `{{…}}` tags alone. Handlebars' parser
 * notices an unclosed `{{#if}}` only at the end of the text and says so in grammar tokens; this scan
 * finds the tag behind it, so that the person who wrote the template is told where to look.
 * It is consulted only after the parser has refused a template (see checkTemplates).
 */

export interface Tag {
  /** The tag as written, on one line and shortened: `{{#if vip}}`. */
  text: string;
  /** The block's name: `if` for `{{#if vip}}` and `{{/if}}`. */
  name: string;
  line: number;
}

export type BlockProblem =
  | { kind: "unclosed"; open: Tag }
  | { kind: "mismatched"; open: Tag; close: Tag }
  | { kind: "stray-close"; close: Tag }
  | { kind: "stray-else"; tag: Tag }
  | { kind: "second-else"; tag: Tag; open: Tag }
  | { kind: "unterminated"; tag: Tag };

const TAG_TEXT_LIMIT = 60;

/** The first problem in how the template's blocks nest, or undefined when they nest well. */
export function findBlockProblem(source: string): BlockProblem | undefined {
  const lineStarts = [0];
  for (let i = source.indexOf("\n"); i !== -1; i = source.indexOf("\n", i + 1)) lineStarts.push(i + 1);
  const lineOf = (offset: number) => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (lineStarts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  };
  const tagAt = (start: number, end: number, name: string): Tag => ({ text: shorten(source.slice(start, end)), name, line: lineOf(start) });

  const open: (Tag & { elsed: boolean })[] = [];
  let at = 0;
  for (;;) {
    const start = source.indexOf("{{", at);
    if (start === -1) break;
    // `\{{name}}` is printed as it is; `\\{{name}}` is a backslash before a real tag.
    if (source[start - 1] === "\\" && source[start - 2] !== "\\") {
      at = start + 2;
      continue;
    }
    if (source.startsWith("{{{{", start)) {
      // A raw block: nothing up to its closing `{{{{/name}}}}` is a tag.
      const close = source.indexOf("}}}}", start + 4);
      if (close === -1) return { kind: "unterminated", tag: tagAt(start, start + TAG_TEXT_LIMIT, "") };
      const name = source.slice(start + 4, close).trim().split(/\s+/)[0] ?? "";
      const end = source.indexOf(`{{{{/${name}}}}}`, close + 4);
      if (end === -1) return { kind: "unclosed", open: tagAt(start, close + 4, name) };
      at = end + name.length + 9;
      continue;
    }
    const inside = source.slice(start + 2, start + 5).replace(/^~/, "");
    const longComment = inside.startsWith("!--");
    const closer = longComment ? "--}}" : "}}";
    const close = source.indexOf(closer, start + 2);
    const nextOpen = source.indexOf("{{", start + 2);
    // A tag that runs into the next `{{` lacks its `}}`; comments may hold `{{` (a short one ends at the first `}}`).
    if (close === -1 || (!inside.startsWith("!") && nextOpen !== -1 && nextOpen < close)) {
      const lineEnd = source.indexOf("\n", start);
      const end = Math.min(close === -1 ? source.length : nextOpen, lineEnd === -1 ? source.length : lineEnd);
      return { kind: "unterminated", tag: tagAt(start, end, "") };
    }
    let end = close + closer.length;
    if (source[start + 2] === "{" && source[end] === "}") end += 1;
    at = end;
    const body = source.slice(start + 2, close).replace(/^~/, "").replace(/~$/, "").trim();
    const tag = (name: string) => tagAt(start, end, name);
    const sigil = body[0];
    if (sigil === "#" || (sigil === "^" && body.length > 1)) {
      open.push({ ...tag(blockName(body.slice(1))), elsed: false });
    } else if (sigil === "/") {
      const closing = tag(blockName(body.slice(1)));
      const innermost = open.pop();
      if (!innermost) return { kind: "stray-close", close: closing };
      if (innermost.name !== closing.name) return { kind: "mismatched", open: withoutElse(innermost), close: closing };
    } else if (body === "^" || body === "else" || /^else\s/.test(body)) {
      const innermost = open.at(-1);
      if (!innermost) return { kind: "stray-else", tag: tag("else") };
      if (innermost.elsed) return { kind: "second-else", tag: tag("else"), open: withoutElse(innermost) };
      if (body === "^" || body === "else") innermost.elsed = true;
    }
  }
  const innermost = open.pop();
  return innermost ? { kind: "unclosed", open: withoutElse(innermost) } : undefined;
}

/** `if` of `if vip`, `layout` of `> layout`, `inline` of `*inline "name"`. */
function blockName(rest: string): string {
  return rest.replace(/^[>*]/, "").trim().split(/[\s()}~]/)[0] ?? "";
}

function withoutElse({ elsed: _elsed, ...tag }: Tag & { elsed: boolean }): Tag {
  return tag;
}

function shorten(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > TAG_TEXT_LIMIT ? `${oneLine.slice(0, TAG_TEXT_LIMIT - 1)}…` : oneLine;
}
