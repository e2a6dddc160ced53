import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createTextDeriver, textFromHtml, textFromHtmlByHtmlToText } from "../../src/mail/derived-text.js";

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
