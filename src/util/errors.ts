/**
 * Errors about user input. Every message names where the problem is (file, line, field) so a
 * user can fix it without reading our code.
 */
export class InputError extends Error {
  constructor(
    message: string,
    readonly location: { file?: string; line?: number; field?: string } = {},
  ) {
    super(formatLocation(location) + message);
    this.name = "InputError";
  }
}

function formatLocation(loc: { file?: string; line?: number; field?: string }): string {
  const parts: string[] = [];
  if (loc.file !== undefined) parts.push(loc.line !== undefined ? `${loc.file}:${loc.line}` : loc.file);
  if (loc.field !== undefined) parts.push(`field "${loc.field}"`);
  return parts.length > 0 ? parts.join(", ") + ": " : "";
}
