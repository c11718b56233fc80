import { namespaceProblem } from '../protocol/namespace.ts'
import type { RequestContext } from './request-context.ts'
import type { Message } from '../pb/rendezvous.ts'

/**
 * UNREGISTER has no reply, so a bad namespace can only be ignored. The legacy `id` field is ignored too: the
 * connection already says who is asking, and a peer can only remove its own registrations.
 */
export async function handleUnregister (request: Message.Unregister | undefined, ctx: RequestContext): Promise<void> {
  const ns = request?.ns ?? ''

  if (namespaceProblem(ns, ctx.config.maxNamespaceLength) != null) {
    ctx.log('ignoring unregister from %s with an invalid namespace', ctx.remotePeer)
    return
  }

  await ctx.store.unregister(ctx.remotePeer.toString(), ns)
  ctx.log('unregistered %s from %s', ctx.remotePeer, ns)
}
