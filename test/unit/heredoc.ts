/**
 * A literal block, like cli/cli's heredoc.Doc: drops the first line break, removes the indentation
 * common to every non-blank line, and keeps one final line break. The text is otherwise verbatim.
 *
 *   heredoc(`
 *     protocol=https
 *     host=github.com
 *   `) === "protocol=https\nhost=github.com\n"
 */
export function heredoc(text: string): string {
  const body = text.replace(/^\n/, "").replace(/\n[ \t]*$/, "\n");
  const lines = body.split("\n");
  const indents = lines.filter((l) => l.trim() !== "").map((l) => /^[ \t]*/.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(Math.min(cut, /^[ \t]*/.exec(l)![0].length))).join("\n");
}
