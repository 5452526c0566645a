import { HelperError } from "../errors";
import type { SourceConfig } from "../credentials";
import type { Source } from "./types";

/** Placeholder: the github-app source (issue 4). */
export function githubAppSource(config: Extract<SourceConfig, { kind: "github-app" }>): Source {
  return {
    label: "GitHub",
    mint: async () => {
      throw new HelperError("bad-setting", `the github-app source for app ${config.appId} is not available yet`, "use the broker");
    },
  };
}
