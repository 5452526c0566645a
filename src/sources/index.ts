import { setFlagsFromString } from "node:v8";
import type { SourceConfig } from "../credentials";
import { brokerSource } from "./broker";
import { githubAppSource } from "./github-app";
import type { Source } from "./types";

// undici parses HTTP with llhttp compiled to WebAssembly. V8 would re-optimise that module in the
// background, and Node waits for the job before it exits: ~70 ms added to every mint, for one small
// answer. Liftoff's baseline code parses it just as well. (Only WebAssembly compilation changes.)
setFlagsFromString("--liftoff-only");

/** The network source for a configuration (static tokens never reach here: they need no network). */
export function createSource(config: Exclude<SourceConfig, { kind: "static" }>): Source {
  switch (config.kind) {
    case "broker":
      return brokerSource({ baseUrl: config.baseUrl, apiKey: config.apiKey.value });
    case "github-app":
      return githubAppSource(config);
  }
}
