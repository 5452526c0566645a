import type { Permissions } from "./profiles";

/** A token as a source hands it over, and as the helper serves it. */
export interface Token {
  token: string;
  /** Milliseconds since the epoch; undefined when unknown (a static token). */
  expiresAt?: number;
  permissions?: Permissions;
  repositories?: string[];
}

/** A token on its way out, with where it came from ("env GITHUB_TOKEN", "the broker"): named if it cannot be printed. */
export interface Served extends Token {
  origin: string;
}
