/** A file's text, embedded at build (scripts/build.mjs: the raw-text plugin; vitest: Vite's ?raw). */
declare module "*?raw" {
  const text: string;
  export default text;
}
