import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseWithHtmlparser2 } from "../../src/mail/derived-text/document.js";
import { createTextDeriver, textFromHtml, textFromHtmlByHtmlToText } from "../../src/mail/derived-text/index.js";
import { DocumentHandler, type DomNode } from "../../src/mail/derived-text/nodes.js";
import { readSimpleDocument } from "../../src/mail/derived-text/simple-document.js";

/** The derived text must be html-to-text's, character for character. */
function expectSame(html: string): void {
  expect(textFromHtml(html), html).toBe(textFromHtmlByHtmlToText(html));
}

const newsletter = (name: string) =>
  `<!DOCTYPE html><html><head><title>Spring &amp; more</title><style>p { color: red }</style></head><body>` +
  `<h1>Spring <a href="https://acme.test/#top">newsletter</a></h1><p>Hi ${name},</p>` +
  `<p>Our spring collection arrived in Portland. Read about it and more, with <a href="https://acme.test/s?u=1&amp;v=2">this link</a>.</p>`.repeat(3) +
  `<table role="presentation"><tr><td><img src="https://acme.test/logo.png" alt="Acme"></td><td>Tom &amp; Jerry &lt;3 &quot;quoted&quot; &#39;single&#39; &#x27;hex&#x27; &copy; 2026&nbsp;Acme</td></tr></table>` +
  `<ul><li>One</li><!-- a comment --><li>Two <b>bold</b></li><li><ol type="i" start="3"><li>three</li><li>four</li></ol></li></ul>` +
  `<blockquote>Quoted <em>words</em> that go on for a while, long enough to be wrapped inside the quote block here.</blockquote>` +
  `<pre>  keep   this
    as is</pre><hr><p>See you soon,<br>The Acme team</p><script>var x = "<p>not text</p>";</script></body></html>`;

describe("the text part derived from the HTML", () => {
  it("is html-to-text's for the documents newsletters are made of", () => {
    const documents = [
      newsletter("Ann"),
      newsletter("Zoë 🎉 &amp; friends"),
      "<p>Hi {{firstName}},</p>",
      "plain text, no markup at all, with a very long line that goes on and on and on past the seventy-eight columns of wrapping",
      "<p>Hi<p>implicit close<div>div closes p</div><h2>and a heading</h2>",
      "<p>unclosed <b>bold <i>italic",
      "</p>stray close<br/></br><p>x</p>",
      "<div><p>a</div>b</p>c",
      "<html><head><title>Only a head</title></head><p>no body element</p></html>",
      "<body>first body</body><body>second body</body>",
      "<p>words\u200bwith\u200bzero\u00a0width\u00a0and no-break\tspaces\r\n and\fform feeds</p>",
      `<p>${"x".repeat(90)}</p><p>${"y".repeat(40)}undefined${"z".repeat(60)}</p><p>a ${"w".repeat(200)} b</p>`,
      "<p>long<wbr>word<wbr>with<wbr>breaks " + "abcdefghij".repeat(8) + "<wbr>tail</p>",
      '<p><a href="mailto:ann@example.com">write</a> <a href="#x">anchor</a> <a href="">empty</a> <a>none</a> <a href="https://x.test/a b">spaced href</a><a href="https://x.test/"></a></p>',
      "<h3>Heading with <a href='https://acme.test/Path'>a Link</a> and straße</h3><h5>small heading</h5>",
      '<ol start="9"><li>nine</li><li>ten</li></ol><ol type="A"><li>a</li><li>b</li></ol><ol type="a" start="27"><li>aa</li></ol><ol start="x"><li>nan</li></ol>',
      "<ul>\n  <li>spaced</li>\n  text between\n  <li>items</li>\n</ul><ul></ul><ul> </ul>",
      "<ul><li>outer<ul><li>inner one</li><li>inner two</li></ul></li></ul>",
      "<blockquote><p>para in quote</p><blockquote>nested</blockquote></blockquote>",
      "<pre>pre with <b>bold</b>\n\n\nand lines<br>br in pre</pre>",
      "<table><tr><td>cell</td><td>cell two</td></tr><tr><td colspan=2>wide</td></tr></table><p>after</p>",
      "<div>one</div><div>two</div><section><article>nested blocks</article></section>",
      "Tom & Jerry &amp &lt &copy2026 &notanentity; &#128512; &#x1F600; &#0; &#65533;",
      "<p>a<!-- comment -->b <![CDATA[cdata]]> c<?pi x?>d</p>",
      "<svg><p>in svg</p><br/></svg><math><mi>x</mi></math>",
      "<textarea>text &amp; area</textarea><title>title</title>",
      "<p>" + "word ".repeat(60) + "</p>",
      "<h1>" + "heading ".repeat(20) + "</h1>",
      "",
      "   ",
      "<p></p><p> </p><div></div>",
      "<br><br><br>lines<br>",
      "<a href=https://unquoted.test/x?a=1&b=2>unquoted</a> <a href='https://x.test/?a=1&copy=2'>legacy in attribute</a>",
      "<P CLASS=x>UPPER CASE TAGS</P><A HREF='https://x.test'>link</A>",
    ];
    for (const html of documents) expectSame(html);
  });

  it("is html-to-text's for any document built from the usual elements", () => {
    const tag = fc.constantFrom("p", "div", "span", "b", "a", "h1", "h4", "br", "hr", "img", "ul", "ol", "li", "table", "tr", "td", "blockquote", "pre", "wbr", "section", "body", "style", "script", "em", "font", "center");
    const word = fc.oneof(
      fc.constantFrom("Hi", "there", "&amp;", "&lt;", "&copy;", "&nbsp;", "&#x27;", "&", "<", " ", "  ", "\n", "\t", "\u200b", "\u00a0", "undefined", "straße", "🎉", "x".repeat(85), "mailto:", "#"),
      fc.string({ maxLength: 12 }),
    );
    const text = fc.array(word, { maxLength: 8 }).map((words) => words.join(""));
    const attribute = fc.oneof(
      fc.constant(""),
      fc.constantFrom(' href="https://acme.test/x?a=1&amp;b=2"', " href='mailto:ann@example.com'", ' href="#top"', ' href=""', " href=https://u.test/p", ' start="3"', ' type="a"', ' type="I"', ' alt="x"'),
    );
    const element = fc.letrec<{ node: string }>((tie) => ({
      node: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        text,
        fc.tuple(tag, attribute, fc.array(tie("node"), { maxLength: 5 }), fc.boolean()).map(([name, attrs, children, closed]) => `<${name}${attrs}>${children.join("")}${closed ? `</${name}>` : ""}`),
        fc.constantFrom("<!-- c -->", "</p>", "</div>", "<br/>", "<p/>"),
      ),
    })).node;
    fc.assert(
      fc.property(fc.array(element, { maxLength: 8 }), (parts) => expectSame(parts.join(""))),
      { numRuns: 3_000 },
    );
  });

  it("reads plain HTML into the document htmlparser2 builds, and leaves the rest to htmlparser2", () => {
    const shape = (nodes: DomNode[]): unknown =>
      nodes.map((node) => (node.type === "text" ? node.data : node.type === "other" ? "#other" : { [node.name]: node.attribs, type: node.type, children: shape(node.children) }));
    const read = (html: string) => readSimpleDocument(html, new DocumentHandler());
    const plain = [
      newsletter("Ann"),
      '<A HREF="https://x.test/?a=1&amp;b=2" title=\'It&#39;s\' data-x=y disabled>Link</A><img src=x.png alt="a > b"/><br/>',
      '<p class="x"id="y">attributes without space after a quote</p><p a=1 a=2 A=3>first of a repeated attribute</p>',
      "<p>a<p>b<div>c</div><li>d<li>e</p></p></br></img></span>",
      "<title>Tom &amp; Jerry &lt;3</title><script>if (a < b && c) { x = '</p>'; }</script><style>p > a { }</style><textarea>&amp; raw</textarea>",
      "<!DOCTYPE html><?xml version='1.0'?><!-- comment --><!----><p>&copy; &#169; &#xA9; &#X1F600; &nbsp;</p>",
      "Tom & Jerry &= &; && &",
      "<table><tr><td>1<td>2<tr><td>3</table><ul><li>a<li>b</ul><select><option>x<option>y</select>",
    ];
    for (const html of plain) {
      expect(read(html), html).toBeDefined();
      expect(shape(read(html) as DomNode[]), html).toEqual(shape(parseWithHtmlparser2(html)));
    }
    const other = ["a < b", "<svg><p/></svg>", "&copy2026", "&notit;", "&#128;", "<p <b>", "<!-->x", "<![CDATA[x]]>", "<a href=a=b>", "<a href='x>", "<p>x</p foo>", "<xmp>x</xmp>", "<script>never closed"];
    for (const html of other) expect(read(html), html).toBeUndefined();
  });

  it("reads any document built from the usual syntax as htmlparser2 does, when it reads it at all", () => {
    const shape = (nodes: DomNode[]): unknown =>
      nodes.map((node) => (node.type === "text" ? node.data : node.type === "other" ? "#other" : { [node.name]: node.attribs, type: node.type, children: shape(node.children) }));
    const piece = fc.oneof(
      fc.constantFrom("<p>", "</p>", "<P>", "<div>", "</div>", "<li>", "</li>", "<ul>", "</ul>", "<br>", "<br/>", "</br>", "<img src=x>", "</img>", "<td>", "<tr>", "<table>", "</table>", "<h1>", "</h1>"),
      fc.constantFrom("<a href=\"https://x.test/?a=1&amp;b=2\">", "<a href='mailto:a@b.c' target=_blank>", "<a HREF=x title=\"&quot;q&quot;\">", "</a>", "<span class=\"a\"id=\"b\">", "</span>"),
      fc.constantFrom("<!-- c -->", "<!DOCTYPE html>", "<title>T &amp; t</title>", "<script>a<b</script>", "<style>x</style>", "<textarea>&amp;</textarea>"),
      fc.constantFrom("text", " ", "\n", "&amp;", "&lt;", "&#39;", "&#x27;", "&nbsp;", "& ", "&copy;", "a < b", "&zz;", "&#0;", "x".repeat(30)),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 25 }), (pieces) => {
        const html = pieces.join("");
        const simple = readSimpleDocument(html, new DocumentHandler());
        if (simple) expect(shape(simple), html).toEqual(shape(parseWithHtmlparser2(html)));
        expect(textFromHtml(html), html).toBe(textFromHtmlByHtmlToText(html));
      }),
      { numRuns: 3_000 },
    );
  });

  it("is html-to-text's while a sending's first message agrees, and html-to-text's alone once one does not", () => {
    const html = (name: string) => `<p>Hi ${name}, ${"more words ".repeat(10)}</p>`;
    const agreeing = createTextDeriver();
    for (const name of ["Ann", "Bob", "Cy"]) expect(agreeing(html(name))).toBe(textFromHtmlByHtmlToText(html(name)));

    let fastCalls = 0;
    const wrong = createTextDeriver(() => {
      fastCalls++;
      return "not what html-to-text says";
    });
    for (const name of ["Ann", "Bob", "Cy"]) expect(wrong(html(name))).toBe(textFromHtmlByHtmlToText(html(name)));
    expect(fastCalls).toBe(1);
  });
});
