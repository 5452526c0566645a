declare const __VERSION__: string | undefined;
declare const __COMMIT__: string | undefined;

/** Set at build time from package.json (esbuild `define`); "dev" when running from source. */
export const VERSION: string = typeof __VERSION__ === "string" ? __VERSION__ : "dev";
/** The short commit the build was made from (`git rev-parse --short HEAD` at build time), or "unknown". */
export const COMMIT: string = typeof __COMMIT__ === "string" && __COMMIT__ ? __COMMIT__ : "unknown";
export const USER_AGENT = `git-credential-vers/${VERSION}`;
