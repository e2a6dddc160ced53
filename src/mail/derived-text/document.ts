import { Parser } from "htmlparser2";
import { DocumentHandler, type DomNode, type ElementNode } from "./nodes.js";
import { readSimpleDocument } from "./simple-document.js";

const documentHandler = new DocumentHandler();

/** The document html-to-text would walk: read directly when it is plain HTML, through htmlparser2 otherwise. */
export function parseDocument(html: string): DomNode[] {
  return readSimpleDocument(html, documentHandler) ?? parseWithHtmlparser2(html);
}

/** htmlparser2's reading, as html-to-text does it. */
export function parseWithHtmlparser2(html: string): DomNode[] {
  documentHandler.reset();
  // A parser for each document: htmlparser2's reset() leaves the tokenizer inside a <script> or <style> left open.
  // HTML mode: CDATA sections come as comments.
  new Parser(documentHandler, { decodeEntities: true }).end(html);
  return documentHandler.take();
}

/** The `body` elements (not one inside another), or the whole document when it has none. */
export function findBases(dom: DomNode[]): DomNode[] {
  const bodies: ElementNode[] = [];
  collectBodies(dom, bodies);
  return bodies.length === 0 ? dom : bodies;
}

function collectBodies(nodes: DomNode[], bodies: ElementNode[]) {
  for (const node of nodes) {
    if (node.type !== "tag") continue;
    if (node.name === "body") bodies.push(node);
    else collectBodies(node.children, bodies);
  }
}
