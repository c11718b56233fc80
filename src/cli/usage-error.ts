/**
 * Bad flags, environment variables or config file: the command prints the message and exits with status 2. It is
 * the package's one error for bad options (libp2p's `InvalidParametersError`), its message naming the flag,
 * variable or config key at fault, e.g. `--max-ttl must be a whole number of seconds from 1 to 259200, got "soon"`.
 */
import { InvalidParametersError } from '@libp2p/interface'

export class UsageError extends InvalidParametersError {
  static name = 'UsageError'
  name = 'UsageError'
}
