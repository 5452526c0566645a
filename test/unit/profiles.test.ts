import { describe, expect, it } from "vitest";
import { HelperError } from "../../src/errors";
import { SPEC_PROFILES } from "../spec-profiles";
import { canonicalPermissions, profileNames, profilePermissions, PROFILES, withoutAdministrationWrite, type Permissions } from "../../src/profiles";

const SPEC = SPEC_PROFILES;

describe("profiles", () => {
  it("are exactly read, develop, clone and ci, in that order", () => {
    expect(profileNames()).toEqual(["read", "develop", "clone", "ci"]);
    expect(Object.keys(PROFILES)).toEqual(["read", "develop", "clone", "ci"]);
  });

  it.each(Object.keys(SPEC))("%s has the SPEC's permission map", (name) => {
    expect(profilePermissions(name)).toStrictEqual(SPEC[name]);
    expect(PROFILES[name]).toStrictEqual(SPEC[name]);
  });

  it.each(Object.keys(SPEC))("%s never asks for administration: write", (name) => {
    expect(profilePermissions(name).administration).not.toBe("write");
    expect(PROFILES[name]!.administration).not.toBe("write");
  });

  it("profilePermissions hands out a copy: changing it does not change the profile", () => {
    const perms = profilePermissions("clone");
    perms.contents = "write";
    perms.administration = "write";
    expect(profilePermissions("clone")).toStrictEqual({ contents: "read" });
  });

  it.each(["", "admin", "Read", "CLONE", "__proto__", "hasOwnProperty", "constructor"])("refuses the unknown profile %j", (name) => {
    let caught: unknown;
    try {
      profilePermissions(name);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(HelperError);
    expect((caught as HelperError).code).toBe("bad-setting");
    expect((caught as HelperError).message).toBe(`unknown profile "${name}" (use one of: read, develop, clone, ci)`);
  });
});

describe("withoutAdministrationWrite", () => {
  it.each<{ input: Permissions; output: Permissions }>([
    { input: { administration: "write" }, output: { administration: "read" } },
    { input: { administration: "write", contents: "write", issues: "read" }, output: { administration: "read", contents: "write", issues: "read" } },
    { input: { administration: "read", contents: "write" }, output: { administration: "read", contents: "write" } },
    { input: { contents: "write" }, output: { contents: "write" } },
    { input: {}, output: {} },
  ])("$input → $output", ({ input, output }) => {
    expect(withoutAdministrationWrite(input)).toStrictEqual(output);
  });

  it("does not change its argument", () => {
    const input: Permissions = { administration: "write", contents: "write" };
    withoutAdministrationWrite(input);
    expect(input).toStrictEqual({ administration: "write", contents: "write" });
  });
});

describe("canonicalPermissions", () => {
  it.each<[Permissions | undefined, string]>([
    [undefined, ""],
    [{}, ""],
    [{ contents: "read" }, "contents:read"],
    [{ metadata: "read", contents: "write", actions: "read" }, "actions:read,contents:write,metadata:read"],
  ])("%j → %j", (perms, text) => {
    expect(canonicalPermissions(perms)).toBe(text);
  });

  it("does not depend on key order", () => {
    expect(canonicalPermissions({ b: "read", a: "write" })).toBe(canonicalPermissions({ a: "write", b: "read" }));
  });
});
