// The document, as domhandler builds it for html-to-text: elements, text (adjacent pieces merged),
// and the rest (comments, directives), which html-to-text walks past but counts as list items.

export interface ElementNode {
  type: "tag" | "script" | "style";
  name: string;
  attribs: Record<string, string>;
  children: DomNode[];
  parent: ElementNode | undefined;
}
export interface TextNode {
  type: "text";
  data: string;
}
export interface OtherNode {
  type: "other";
}
export type DomNode = ElementNode | TextNode | OtherNode;

const OTHER: OtherNode = { type: "other" };

/** Builds the document from a parser's events as domhandler does; one instance serves every conversion (they never overlap). */
export class DocumentHandler {
  root: DomNode[] = [];
  stack: ElementNode[] = [];
  /** What domhandler would extend with the next piece of text or comment. */
  last: TextNode | "comment" | undefined;

  reset() {
    this.root = [];
    this.stack = [];
    this.last = undefined;
  }

  /** The document built, the handler emptied for the next one. */
  take(): DomNode[] {
    const root = this.root;
    this.reset();
    return root;
  }

  siblings(): DomNode[] {
    const stack = this.stack;
    return stack.length > 0 ? (stack[stack.length - 1] as ElementNode).children : this.root;
  }

  onopentag(name: string, attribs: Record<string, string>) {
    this.last = undefined;
    const element: ElementNode = {
      type: name === "script" ? "script" : name === "style" ? "style" : "tag",
      name,
      attribs,
      children: [],
      parent: this.stack[this.stack.length - 1],
    };
    this.siblings().push(element);
    this.stack.push(element);
  }

  onclosetag() {
    this.last = undefined;
    this.stack.pop();
  }

  ontext(data: string) {
    const last = this.last;
    if (last !== undefined && last !== "comment") {
      last.data += data;
      return;
    }
    const node: TextNode = { type: "text", data };
    this.last = node;
    this.siblings().push(node);
  }

  oncomment() {
    if (this.last === "comment") return;
    this.last = "comment";
    this.siblings().push(OTHER);
  }

  oncommentend() {
    this.last = undefined;
  }

  onprocessinginstruction() {
    this.last = undefined;
    this.siblings().push(OTHER);
  }
}
