export type Permission = "read" | "write";

/** A token the fake broker issued (or a test planted), as the git host sees it. */
export interface MintedToken {
  token: string;
  /** Expiry in ms since the epoch; the token is valid while Date.now() < expiresAt. */
  expiresAt: number;
  /** Bare repository names; null means every repository of the org. */
  repositories: string[] | null;
  permissions: Record<string, Permission>;
}

/** Shared memory between the fake broker (which adds) and the git host (which checks). */
export class TokenRegistry {
  private readonly tokens = new Map<string, MintedToken>();

  add(t: MintedToken): void {
    this.tokens.set(t.token, t);
  }

  lookup(token: string): MintedToken | undefined {
    return this.tokens.get(token);
  }

  get size(): number {
    return this.tokens.size;
  }

  all(): MintedToken[] {
    return [...this.tokens.values()];
  }
}
