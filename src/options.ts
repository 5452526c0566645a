/**
 * The global options, defined once: commander builds the human CLI from this table, and git's
 * actions (`[OPTIONS] get|store|erase`) are parsed from it with node:util's parseArgs, so the
 * hot path need not load commander.
 */
export interface OptionSpec {
  flag: string;
  key: "baseUrl" | "host" | "profile" | "source" | "fallback" | "refreshMargin" | "timeout" | "strict" | "redisUrl";
  /** Placeholder of the value, or undefined for a boolean switch. */
  value?: string;
  multiple?: boolean;
  env: string;
  help: string;
}

export const OPTIONS: readonly OptionSpec[] = [
  { flag: "base-url", key: "baseUrl", value: "<url>", env: "VERS_BASE_URL", help: "broker origin (default https://vers.sh)" },
  { flag: "host", key: "host", value: "<host>", multiple: true, env: "VERS_GITHUB_HOST", help: "host to answer for; repeatable (default github.com)" },
  { flag: "profile", key: "profile", value: "<name>", env: "VERS_GITHUB_PROFILE", help: "permission profile: read, develop, clone, ci" },
  { flag: "source", key: "source", value: "<name>", env: "VERS_TOKEN_SOURCE", help: "auto, broker, grant, github-app or static (default auto)" },
  { flag: "fallback", key: "fallback", value: "<name>", env: "VERS_FALLBACK", help: "static: serve GITHUB_TOKEN/GH_TOKEN when the source fails" },
  { flag: "refresh-margin", key: "refreshMargin", value: "<seconds>", env: "VERS_REFRESH_MARGIN", help: "refresh tokens with less than this left (default 300)" },
  { flag: "timeout", key: "timeout", value: "<seconds>", env: "VERS_TIMEOUT", help: "deadline for one get, retries and lock waits included (default 15)" },
  { flag: "strict", key: "strict", env: "VERS_CREDENTIAL_STRICT", help: "print quit=1 on failure so git stops instead of prompting" },
  { flag: "redis-url", key: "redisUrl", value: "<url>", env: "VERS_REDIS_URL", help: "fleet tier: a Redis shared by many machines (redis://, rediss://: one node or a cluster; redis-sentinel://…#master)" },
];
