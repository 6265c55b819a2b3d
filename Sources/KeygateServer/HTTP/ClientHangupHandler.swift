import NIOCore

/// Closes a client connection as soon as the client stops sending (TCP FIN).
///
/// The server accepts half-closed connections, so a client that hangs up leaves its channel "active" until
/// the next write fails. Closing on end-of-input makes `channel.isActive` turn false at once, which is what
/// `UpstreamWatchdog` watches to cancel the provider call. HTTP clients do not half-close a connection they
/// still want an answer on.
final class ClientHangupHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}
