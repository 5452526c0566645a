/**
 * The first fast path (before the script) wrote two shell-function lines per host: a daemon line
 * (`!vers_fast_path() { … }; vers_fast_path`) and a helper line (`!vers_helper() { … exec <helper>
 * <flags> "$@"; }; vers_helper`). They are recognised here only so that `install` replaces them and
 * `uninstall` removes them, and `status` reads them as wired.
 */

/** True for the first fast path's daemon line, whatever its flags. */
export function isOldFastPathLine(value: string): boolean {
  return value.startsWith("!vers_fast_path() {");
}

/** The helper command inside the first fast path's helper line: its path and flags, as words; undefined for any other line. */
export function oldFastPathHelperWords(value: string, words: (text: string) => string[]): string[] | undefined {
  if (!value.startsWith("!vers_helper() {")) return undefined;
  const m = / exec (.*) "\$@"; \}; vers_helper$/.exec(value);
  return m ? words(m[1]!) : undefined;
}
