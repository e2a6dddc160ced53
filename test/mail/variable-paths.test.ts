import { describe, expect, it } from "vitest";
import { EACH, formatVariablePath, parseVariablePath, readPath } from "../../src/mail/variable-paths.js";

describe("formatVariablePath and parseVariablePath", () => {
  it("write items of a list as [], keys with dots, other keys in brackets, and read them back", () => {
    const cases: [string[], string][] = [
      [["firstName"], "firstName"],
      [["picks", EACH, "title"], "picks[].title"],
      [["picks", "0", "title"], "picks.0.title"],
      [["matrix", EACH, EACH], "matrix[][]"],
      [["first name"], "[first name]"],
      [["a.b", EACH, "c-d"], "[a.b][].c-d"],
    ];
    for (const [path, text] of cases) {
      expect(formatVariablePath(path)).toBe(text);
      expect(parseVariablePath(text)).toEqual(path);
    }
  });
});

describe("readPath", () => {
  const context = {
    email: "ann@example.com",
    firstName: "Ann",
    empty: "",
    none: null,
    vip: false,
    picks: [{ title: "Salt", url: "https://acme.test/s" }, { title: "Pepper" }],
    noPicks: [],
    author: { name: "Bo" },
  };

  it("finds plain and nested values, false and 0 included", () => {
    expect(readPath(context, ["firstName"])).toEqual({ present: true, missing: false, reached: 1 });
    expect(readPath(context, ["vip"])).toEqual({ present: true, missing: false, reached: 1 });
    expect(readPath(context, ["author", "name"])).toEqual({ present: true, missing: false, reached: 2 });
    expect(readPath(context, ["picks", "0", "title"])).toEqual({ present: true, missing: false, reached: 3 });
    expect(readPath(context, ["picks", EACH, "title"])).toEqual({ present: true, missing: false, reached: 3 });
  });

  it("counts absent, null, empty and empty lists as missing, and a list item lacking it as missing", () => {
    expect(readPath(context, ["empty"])).toMatchObject({ present: true, missing: true });
    expect(readPath(context, ["none"])).toMatchObject({ present: true, missing: true });
    expect(readPath(context, ["noPicks"])).toMatchObject({ present: true, missing: true });
    expect(readPath(context, ["lastName"])).toEqual({ present: false, missing: true, reached: 0 });
    expect(readPath(context, ["author", "city"])).toEqual({ present: false, missing: true, reached: 1 });
    expect(readPath(context, ["picks", EACH, "url"])).toEqual({ present: true, missing: true, reached: 3 });
    expect(readPath(context, ["picks", "1", "url"])).toEqual({ present: false, missing: true, reached: 2 });
  });

  it("finds nothing missing in a list with no items: nothing is repeated", () => {
    expect(readPath(context, ["noPicks", EACH, "title"])).toEqual({ present: false, missing: false, reached: 1 });
    expect(readPath(context, ["absent", EACH, "title"])).toEqual({ present: false, missing: false, reached: 0 });
    expect(readPath(context, ["firstName", EACH])).toEqual({ present: false, missing: false, reached: 1 });
    expect(readPath({ shelves: [{ books: [{ title: "A" }] }, {}] }, ["shelves", EACH, "books", EACH, "title"])).toEqual({ present: true, missing: false, reached: 5 });
  });

  it("goes through the values of an object as {{#each}} does", () => {
    expect(readPath({ prices: { eu: { amount: 3 }, us: { amount: 4 } } }, ["prices", EACH, "amount"])).toMatchObject({ present: true, missing: false });
  });

  it("reads own properties only: prototype members are no variables", () => {
    expect(readPath(context, ["constructor"])).toEqual({ present: false, missing: true, reached: 0 });
    expect(readPath(context, ["author", "toString"])).toMatchObject({ present: false, missing: true });
    expect(readPath(JSON.parse('{"__proto__":{"x":1}}'), ["__proto__", "x"])).toMatchObject({ present: true, missing: false });
  });

  it("tells which keys stood where each segment was looked up", () => {
    const heard: [number, string[]][] = [];
    readPath(context, ["picks", EACH, "titel"], (index, keys) => heard.push([index, keys]));
    expect(heard).toEqual([
      [0, Object.keys(context)],
      [2, ["title", "url"]],
      [2, ["title"]],
    ]);
  });
});
