import { describe, expect, it } from "vitest";
import { closestName, editDistance } from "../../../src/mail/analysis/closest-name.js";

const names = (...list: string[]) => new Map(list.map((name, i) => [name, list.length - i]));

describe("editDistance", () => {
  it("counts insertions, deletions, substitutions and swaps of neighbours as one edit each", () => {
    expect(editDistance("title", "title")).toBe(0);
    expect(editDistance("titel", "title")).toBe(1);
    expect(editDistance("frstname", "firstname")).toBe(1);
    expect(editDistance("firstname", "lastname")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("kitten", "sitting", 1)).toBe(2); // given up past the limit
  });
});

describe("closestName", () => {
  it("prefers the same letters in another case", () => {
    expect(closestName("firstname", names("firstNme", "firstName", "lastName"))).toBe("firstName");
    expect(closestName("FIRSTNAME", names("firstname", "FirstName"))).toBe("firstname");
  });

  it("suggests the name fewest edits away, within a quarter of the length", () => {
    expect(closestName("frstName", names("firstName", "lastName", "email"))).toBe("firstName");
    expect(closestName("titel", names("title", "url"))).toBe("title");
    expect(closestName("coupon", names("firstName", "email"))).toBeUndefined();
    expect(closestName("firstName", names("lastName"))).toBeUndefined();
    expect(closestName("nam", names("name", "date"))).toBe("name");
  });

  it("breaks ties by how many recipients have the name, then alphabetically", () => {
    expect(closestName("cod", new Map([["code", 1], ["cid", 5]]))).toBe("cid");
    expect(closestName("cod", new Map([["code", 2], ["cad", 2]]))).toBe("cad");
  });
});
