/**
 * Checks of the PostgreSQL store's settings that need neither the driver nor a database: the store runs them when
 * it is built, and the `rendezvous-server` command while it parses its options, so that a bad value is a usage
 * error named after its flag rather than a failed start after the identity file was created.
 */

/** A schema name the store accepts: a plain identifier, so that it can be put in statements without quoting */
export const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/** Why `schema` cannot be used, or undefined when it can */
export function schemaNameProblem (schema: string): string | undefined {
  return SCHEMA_NAME.test(schema)
    ? undefined
    : `schema "${schema}" is not a plain identifier (letters, digits and _, not starting with a digit, at most 63)`
}

/**
 * Why the driver (postgres.js) would refuse this connection URL, or undefined when it would take it. The driver
 * parses `postgres://user:password@host:port,host:port/database?options` with the WHATWG URL parser after
 * keeping the first host only, and fails with a bare "Invalid URL" otherwise; this says what is wrong.
 */
export function postgresUrlProblem (url: string): string | undefined {
  const match = /^postgres(?:ql)?:\/\/([^/?#]*)/i.exec(url)

  if (match == null) {
    return 'it does not start with postgres:// or postgresql://'
  }

  const hosts = decodeURIComponent(match[1].slice(match[1].lastIndexOf('@') + 1)).split(',')

  for (const host of hosts) {
    const port = /^(?:\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(host)?.[1]

    if (port != null && port !== '' && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
      return `port ${port} is not a port number (1 to 65535)`
    }
  }

  try {
    // eslint-disable-next-line no-new
    new URL(url.replace(match[1], match[1].split(',')[0]))
  } catch {
    return 'it is not a valid URL (characters such as @, : or / in the user name or password must be percent-encoded)'
  }

  return undefined
}
