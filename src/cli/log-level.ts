/**
 * libp2p logs through the `debug` convention: a logger per component (`libp2p:rendezvous:server`), with
 * `:error` and `:trace` children, enabled by namespace patterns. A log level is a choice of patterns.
 */
import { disable, enable } from '@libp2p/logger'
import type { LogLevel } from './option-table.ts'

export const LOG_PATTERNS: Record<LogLevel, string | undefined> = {
  silent: undefined,
  error: 'libp2p:rendezvous*:error,libp2p:circuit-relay*:error',
  info: 'libp2p:rendezvous*,libp2p:circuit-relay*:error,-libp2p:rendezvous*:trace',
  debug: 'libp2p:*,-libp2p:*:trace',
  trace: 'libp2p:*'
}

/** Enables the level's loggers, unless the user set DEBUG, which then says exactly what to log */
export function applyLogLevel (level: LogLevel, debugEnv: string | undefined): void {
  if (debugEnv != null && debugEnv !== '') {
    enable(debugEnv)
    return
  }

  const patterns = LOG_PATTERNS[level]

  if (patterns == null) {
    disable()
  } else {
    enable(patterns)
  }
}
