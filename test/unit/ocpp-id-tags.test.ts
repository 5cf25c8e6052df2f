import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { IdTagList, IdTagListError, parseIdTagList, validateIdTagEntries } from "../../nodes/lib/ocpp/core/id-tags";
import type { IdTagDirectory, IdTagEntry } from "../../nodes/lib/ocpp/core/contract";

const NOW = new Date("2026-11-21T12:00:00.000Z");

describe("IdTagList.check", () => {
  const entries: IdTagEntry[] = [
    { idTag: "04A1B2C3", status: "Accepted" },
    { idTag: "BLOCKED1", status: "Blocked" },
    { idTag: "OLDCARD", status: "Accepted", expiryDate: "2026-01-01T00:00:00.000Z" },
    { idTag: "CHILD1", status: "Accepted", expiryDate: "2027-01-01T00:00:00.000Z", parentIdTag: "FAMILY" },
    { idTag: "GONE", status: "Invalid" },
  ];

  it("answers Accepted, Blocked, Expired and Invalid", () => {
    const list = new IdTagList(entries);
    assert.deepEqual(list.check("04A1B2C3", NOW), { status: "Accepted" });
    assert.deepEqual(list.check("BLOCKED1", NOW), { status: "Blocked" });
    assert.deepEqual(list.check("OLDCARD", NOW), { status: "Expired", expiryDate: "2026-01-01T00:00:00.000Z" });
    assert.deepEqual(list.check("CHILD1", NOW), {
      status: "Accepted",
      expiryDate: "2027-01-01T00:00:00.000Z",
      parentIdTag: "FAMILY",
    });
    assert.deepEqual(list.check("GONE", NOW), { status: "Invalid" });
    // A tag turns Expired exactly at its expiry time.
    assert.equal(list.check("CHILD1", new Date("2027-01-01T00:00:00.000Z")).status, "Expired");
  });

  it("compares tags without regard to case, as OCPP does", () => {
    const list = new IdTagList(entries);
    assert.equal(list.check("04a1b2c3", NOW).status, "Accepted");
    assert.equal(list.check("blocked1", NOW).status, "Blocked");
    assert.equal(list.get(" child1 ")?.parentIdTag, "FAMILY");
  });

  it("accepts unknown tags by default and denies them with denyUnknown", () => {
    assert.deepEqual(new IdTagList(entries).check("STRANGER", NOW), { status: "Accepted" });
    const strict = new IdTagList(entries, { denyUnknown: true });
    assert.deepEqual(strict.check("STRANGER", NOW), { status: "Invalid" });
    assert.deepEqual(strict.check("04A1B2C3", NOW), { status: "Accepted" });
    // An empty tag is never accepted.
    assert.deepEqual(new IdTagList().check("", NOW), { status: "Invalid" });
  });
});

describe("IdTagList changes", () => {
  it("bumps the version and notifies listeners only on real changes", () => {
    const list: IdTagList = new IdTagList([{ idTag: "A1", status: "Accepted" }], { initialVersion: 7 });
    const directory: IdTagDirectory = list;
    let calls = 0;
    const off = directory.onChange(() => calls++);
    assert.equal(list.version, 7);
    list.upsert({ idTag: "B2", status: "Blocked" });
    assert.equal(list.version, 8);
    list.upsert({ idTag: "B2", status: "Blocked" });
    assert.equal(list.version, 8, "same entry again is no change");
    list.upsert({ idTag: "a1", status: "Blocked" });
    assert.deepEqual(list.entries(), [
      { idTag: "a1", status: "Blocked" },
      { idTag: "B2", status: "Blocked" },
    ]);
    assert.equal(list.remove("A1"), true);
    assert.equal(list.remove("A1"), false);
    list.replace([{ idTag: "C3", status: "Accepted" }]);
    assert.equal(list.version, 11);
    assert.equal(calls, 4);
    off();
    list.replace([]);
    assert.equal(calls, 4);
    assert.equal(list.version, 12);
    assert.equal(list.size, 0);
  });

  it("keeps notifying when one listener throws", () => {
    const list = new IdTagList();
    let reached = false;
    list.onChange(() => {
      throw new Error("bad listener");
    });
    list.onChange(() => (reached = true));
    list.upsert({ idTag: "X", status: "Accepted" });
    assert.equal(reached, true);
  });

  it("rejects an invalid replace and leaves the list as it was", () => {
    const list = new IdTagList([{ idTag: "A1", status: "Accepted" }]);
    assert.throws(
      () => list.replace([{ idTag: "A1", status: "Accepted" }, { idTag: "a1", status: "Blocked" }]),
      (err: unknown) =>
        err instanceof IdTagListError &&
        err.message ===
          'Problem in the id-tag list: entry 2: id tag "a1" is listed twice (first at entry 1); tags are compared without regard to case',
    );
    assert.throws(() => list.upsert({ idTag: "", status: "Accepted" }), /entry 1: id tag is missing/);
    assert.equal(list.version, 1);
    assert.deepEqual(list.entries(), [{ idTag: "A1", status: "Accepted" }]);
  });

  it("entries() returns copies", () => {
    const list = new IdTagList([{ idTag: "A1", status: "Accepted" }]);
    list.entries()[0].status = "Blocked";
    assert.equal(list.check("A1", NOW).status, "Accepted");
  });
});

describe("id-tag list parsing", () => {
  it("reads the line format with comments, defaults, separators and bare dates", () => {
    const text = [
      "# family cards",
      "04A1B2C3",
      "DEADBEEF  blocked",
      "",
      "CAFE0001, Accepted, 2027-12-31, FAMILY   # expires end of 2027",
      "CAFE0002;;2027-06-30T12:00:00+02:00",
    ].join("\n");
    const { entries, problems } = parseIdTagList(text);
    assert.deepEqual(problems, []);
    assert.deepEqual(entries, [
      { idTag: "04A1B2C3", status: "Accepted" },
      { idTag: "DEADBEEF", status: "Blocked" },
      { idTag: "CAFE0001", status: "Accepted", expiryDate: "2027-12-31T23:59:59.000Z", parentIdTag: "FAMILY" },
      { idTag: "CAFE0002", status: "Accepted", expiryDate: "2027-06-30T10:00:00.000Z" },
    ]);
  });

  it("reports every problem with its line", () => {
    const text = [
      "OK1",
      "THIS-TAG-IS-FAR-TOO-LONG-FOR-OCPP",
      "OK2, Allowed",
      "OK3, Accepted, 31.12.2027",
      "ok1",
      "A, B, C, D, E",
    ].join("\n");
    const { entries, problems } = parseIdTagList(text);
    assert.deepEqual(entries, [{ idTag: "OK1", status: "Accepted" }]);
    assert.deepEqual(problems, [
      { line: 2, message: 'id tag "THIS-TAG-IS-FAR-TOO-LONG-FOR-OCPP" is longer than 20 characters (the OCPP 1.6 limit)' },
      { line: 3, message: 'status "Allowed" is not one of Accepted, Blocked, Expired, Invalid' },
      { line: 4, message: 'expiry date "31.12.2027" is not a date; write it as YYYY-MM-DD or as an ISO 8601 time' },
      {
        line: 5,
        message: 'id tag "ok1" is listed twice (first at line 1); tags are compared without regard to case',
      },
      { line: 6, message: "too many fields; expected: id tag, status, expiry date, parent tag" },
    ]);
    assert.throws(
      () => IdTagList.parse(text),
      (err: unknown) =>
        err instanceof IdTagListError &&
        err.problems.length === 5 &&
        err.message.startsWith("5 problems in the id-tag list: line 2: id tag"),
    );
  });

  it("reads JSON lists, tag strings and tag → status objects", () => {
    assert.deepEqual(
      parseIdTagList('[{"idTag":"A1","status":"Blocked"},"B2",{"idTag":"C3","expiryDate":"2027-01-01"}]').entries,
      [
        { idTag: "A1", status: "Blocked" },
        { idTag: "B2", status: "Accepted" },
        { idTag: "C3", status: "Accepted", expiryDate: "2027-01-01T23:59:59.000Z" },
      ],
    );
    assert.deepEqual(parseIdTagList('{"A1":"blocked","B2":{"status":"Expired"}}').entries, [
      { idTag: "A1", status: "Blocked" },
      { idTag: "B2", status: "Expired" },
    ]);
    assert.deepEqual(parseIdTagList('[{"idTag":"A 1"}, 42]').problems, [
      { entry: 1, message: 'id tag "A 1" may only contain letters, digits and punctuation (no spaces or special characters)' },
      { entry: 2, message: "each entry must be a tag text or an object with idTag" },
    ]);
    assert.match(parseIdTagList('[{"idTag": }]').problems[0].message, /^the list looks like JSON but does not parse: /);
    assert.deepEqual(validateIdTagEntries("nope").problems, [{ message: "expected a list of id tags" }]);
  });

  it("serialises to JSON that parses back to the same list, and shows the line format", () => {
    const list = IdTagList.parse("A1\nB2, Blocked\nC3, Accepted, 2027-12-31, A1", { denyUnknown: true });
    const again = IdTagList.parse(list.serialize(), { denyUnknown: true });
    assert.deepEqual(again.entries(), list.entries());
    assert.equal(again.check("ZZ", NOW).status, "Invalid");
    assert.equal(list.toText(), "A1, Accepted\nB2, Blocked\nC3, Accepted, 2027-12-31T23:59:59.000Z, A1");
    assert.deepEqual(IdTagList.parse(list.toText()).entries(), list.entries());
    assert.equal(IdTagList.parse("").size, 0);
  });
});
