import { describe, expect, it } from "vitest";
import { gitInvocation, isGitStore, type GitInvocation } from "../../src/argv";

describe("gitInvocation: git's [options] <action>", () => {
  it.each<{ argv: string[]; want: GitInvocation }>([
    { argv: ["get"], want: { action: "get", flags: {} } },
    { argv: ["store"], want: { action: "store", flags: {} } },
    { argv: ["erase"], want: { action: "erase", flags: {} } },
    { argv: ["--profile", "clone", "get"], want: { action: "get", flags: { profile: "clone" } } },
    { argv: ["--profile=ci", "get"], want: { action: "get", flags: { profile: "ci" } } },
    { argv: ["--host", "a", "--host", "b", "get"], want: { action: "get", flags: { host: ["a", "b"] } } },
    { argv: ["--host", "ghe.example.com", "get"], want: { action: "get", flags: { host: ["ghe.example.com"] } } },
    { argv: ["get", "--strict"], want: { action: "get", flags: { strict: true } } },
    { argv: ["--strict", "get"], want: { action: "get", flags: { strict: true } } },
    { argv: ["--base-url", "http://127.0.0.1:8080", "get"], want: { action: "get", flags: { baseUrl: "http://127.0.0.1:8080" } } },
    { argv: ["--source", "static", "--fallback", "static", "erase"], want: { action: "erase", flags: { source: "static", fallback: "static" } } },
    { argv: ["--refresh-margin", "60", "--timeout", "5", "get"], want: { action: "get", flags: { refreshMargin: "60", timeout: "5" } } },
    {
      argv: ["--base-url=https://vers.sh", "--host=a", "--profile=read", "--source=broker", "--fallback=static", "--refresh-margin=1", "--timeout=2", "--strict", "get"],
      want: {
        action: "get",
        flags: { baseUrl: "https://vers.sh", host: ["a"], profile: "read", source: "broker", fallback: "static", refreshMargin: "1", timeout: "2", strict: true },
      },
    },
    { argv: ["--", "get"], want: { action: "get", flags: {} } },
    { argv: ["capability"], want: { action: "capability", flags: {} } },
    { argv: ["some-future-action"], want: { action: "some-future-action", flags: {} } },
  ])("$argv", ({ argv, want }) => {
    expect(gitInvocation(argv)).toStrictEqual(want);
  });

  it("does not change argv", () => {
    const argv = ["--profile", "clone", "get"];
    gitInvocation(argv);
    expect(argv).toEqual(["--profile", "clone", "get"]);
  });
});

describe("gitInvocation: anything else is for commander", () => {
  it.each<[string, string[]]>([
    ["no arguments", []],
    ["token", ["token"]],
    ["token --repo", ["token", "--repo", "acme/widgets"]],
    ["status", ["status"]],
    ["status --json", ["status", "--json"]],
    ["install", ["install", "--global"]],
    ["uninstall", ["uninstall"]],
    ["profiles", ["profiles"]],
    ["cache clear", ["cache", "clear"]],
    ["grant", ["grant"]],
    ["help", ["help"]],
    ["help get", ["help", "get"]],
    ["--help", ["--help"]],
    ["-h", ["-h"]],
    ["--version", ["--version"]],
    ["-V", ["-V"]],
    ["get --help", ["get", "--help"]],
    ["an unknown option", ["--bogus", "get"]],
    ["an unknown option after the action", ["get", "--bogus"]],
    ["a value-less option", ["get", "--profile"]],
    ["an option eating the action", ["--profile", "get"]],
    ["a value on a switch", ["--strict=yes", "get"]],
    ["two positionals", ["get", "store"]],
    ["options only", ["--strict"]],
    ["profile with options before", ["--profile", "clone", "token"]],
  ])("%s", (_name, argv) => {
    expect(gitInvocation(argv)).toBeUndefined();
  });
});

describe("isGitStore: git's `[options] store`, answered before anything else loads", () => {
  it.each<[string, string[]]>([
    ["store", ["store"]],
    ["options before it", ["--profile", "x", "store"]],
    ["a switch before it", ["--strict", "store"]],
    ["a host before it", ["--host", "ghe.example.com", "store"]],
    ["an option after it", ["store", "--strict"]],
  ])("%s is store", (_name, argv) => {
    expect(isGitStore(argv)).toBe(true);
  });

  it.each<[string, string[]]>([
    ["install --host store", ["install", "--host", "store"]],
    ["store as an option's value", ["--host", "store"]],
    ["store as an argument of token", ["token", "store"]],
    ["store as a profile", ["--profile", "store", "get"]],
    ["get", ["get"]],
    ["erase", ["erase"]],
    ["nothing", []],
    ["store twice", ["store", "store"]],
    ["store with an unknown option", ["--bogus", "store"]],
    ["STORE in capitals", ["STORE"]],
  ])("%s is not", (_name, argv) => {
    expect(isGitStore(argv)).toBe(false);
  });
});
