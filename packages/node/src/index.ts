/**
 * @since 0.1.0
 */
export * as FdServer from "./FdServer.js"
/**
 * @since 0.1.0
 */
export * as NodeConnection from "./NodeConnection.js"
/**
 * @since 0.1.0
 */
export * as NodeConnector from "./NodeConnector.js"
/**
 * @since 0.1.0
 */
export * as NodeResolver from "./NodeResolver.js"
/**
 * @since 0.1.0
 */
export * as SocketServer from "./SocketServer.js"
/**
 * @since 0.1.0
 */
export * as TcpConnector from "./TcpConnector.js"
/**
 * @since 0.1.0
 */
export * as TcpServer from "./TcpServer.js"
/**
 * @since 0.1.0
 */
export * as Tls from "./Tls.js"
/**
 * @since 0.1.0
 */
export * as TlsConnector from "./TlsConnector.js"
/**
 * @since 0.1.0
 */
export * as TlsServer from "./TlsServer.js"
/**
 * @since 0.1.0
 */
export * as UnixConnector from "./UnixConnector.js"
/**
 * @since 0.1.0
 */
export * as UnixServer from "./UnixServer.js"
