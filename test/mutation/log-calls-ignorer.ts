/**
 * A Stryker ignorer (stryker.config.mjs): no mutants inside calls to a libp2p logger (`log(…)`, `this.log(…)`,
 * `log.error(…)`, `this.log.trace(…)`). What a log line says is for people reading logs, and no test should pin
 * its words; a mutant there would only count against the score.
 *
 * Written as a plain value (what `declareValuePlugin` of `@stryker-mutator/api` returns) so that it needs no import.
 */

interface Node { type: string, name?: string, object?: Node, property?: Node, callee?: Node, expression?: Node }
interface Path { node: Node }

/** `log`, `this.log`, `x.log`: a logger function (a libp2p `Logger` is called directly) */
function isLogger (node: Node | undefined): boolean {
  if (node == null) {
    return false
  }

  if (node.type === 'Identifier') {
    return node.name === 'log'
  }

  return node.type === 'MemberExpression' && node.property?.type === 'Identifier' && node.property.name === 'log'
}

/** A call of a logger, or of one of its levels (`log.error`, `log.trace`) */
function isLogCall (node: Node): boolean {
  if (node.type !== 'CallExpression') {
    return false
  }

  const callee = node.callee
  return isLogger(callee) || (callee?.type === 'MemberExpression' && isLogger(callee.object) && ['error', 'trace'].includes(callee.property?.name ?? ''))
}

export const strykerPlugins = [{
  kind: 'Ignore',
  name: 'log-calls',
  value: {
    shouldIgnore (path: Path): string | undefined {
      const node = path.node
      // the statement too: Stryker places the mutant that removes a whole call on its statement, met before the call
      const logLine = isLogCall(node) || (node.type === 'ExpressionStatement' && node.expression != null && isLogCall(node.expression))
      return logLine ? 'a log line: its words are for people reading logs, not behaviour' : undefined
    }
  }
}]
