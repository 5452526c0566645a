declare const __VERSION__: string | undefined;

/** Set at build time from package.json (esbuild `define`); "dev" when running from source. */
export const VERSION: string = typeof __VERSION__ === "string" ? __VERSION__ : "dev";
export const USER_AGENT = `git-credential-vers/${VERSION}`;
