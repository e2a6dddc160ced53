import { describe, expect, it } from "vitest";
import { linkProblem } from "../../../src/mail/analysis/html-scan.js";

describe("linkProblem", () => {
  it.each([
    ["https://acme.test/x?a=1&amp;b=2", null],
    ["https://acme.test/u/{{id}}", null],
    ["{{url}}", null],
    ["mailto:help@acme.test", null],
    ["#top", null],
    ["http://acme.test", "not https"],
    ["ftp://acme.test/file", "ftp: is not https"],
    ["//acme.test/x", "no scheme"],
    ["/relative/path", "relative: means nothing in an email"],
    ["https://localhost/x", 'no such host "localhost"'],
    ["data:text/html,hi", "data: link"],
    ["mailto:", "empty address"],
    ["  ", "empty"],
  ])("judges the link %j", (href, problem) => {
    expect(linkProblem(href)).toBe(problem);
  });
});
