/**
 * A logger that writes nothing and costs nothing: libp2p's default logger makes several `debug` instances per
 * component, which for 100,000 nodes of a dozen components each would take gigabytes.
 */
import type { ComponentLogger, Logger } from '@libp2p/interface'

export const noopLogger: Logger = Object.assign(() => {}, {
  error: () => {},
  trace: () => {},
  enabled: false,
  newScope: () => noopLogger
})

export const noopComponentLogger: ComponentLogger = {
  forComponent: () => noopLogger
}
