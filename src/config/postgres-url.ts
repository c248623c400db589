/**
 * PostgreSQL URLs as given on the command line (`--store`, `--queue`): recognised, and shown
 * or recorded without their password. Shared by the results store and the fleet queue.
 */

/** True when `location` names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** `url` with its password (in the user info or a `password` parameter) removed. */
export function redactPostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    if (u.searchParams.has('password')) u.searchParams.delete('password');
    return u.toString();
  } catch {
    return url.replace(/(\/\/[^/@:]*):[^@/]*@/, '$1@').replace(/([?&]password=)[^&]*/i, '$1***');
  }
}

/** `text` (a command-line argument) with the password of any PostgreSQL URL in it removed, e.g. `--store=postgres://u:pw@h/db`. */
export function redactStoreUrls(text: string): string {
  return text.replace(/postgres(?:ql)?:\/\/\S*/gi, (url) => redactPostgresUrl(url));
}
