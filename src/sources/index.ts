import type { SourceConfig } from "../credentials";
import { brokerSource } from "./broker";
import { githubAppSource } from "./github-app";
import type { Source } from "./types";

/** The network source for a configuration (static tokens never reach here: they need no network). */
export function createSource(config: Exclude<SourceConfig, { kind: "static" }>): Source {
  switch (config.kind) {
    case "broker":
      return brokerSource({ baseUrl: config.baseUrl, apiKey: config.apiKey.value });
    case "github-app":
      return githubAppSource(config);
  }
}
