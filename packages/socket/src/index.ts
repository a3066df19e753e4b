/**
 * @since 0.1.0
 */
export * as Connection from "./Connection.js"
/**
 * @since 0.1.0
 */
export * as Connector from "./Connector.js"
/**
 * @since 0.1.0
 */
export * as DnsConnector from "./DnsConnector.js"
/**
 * @since 0.1.0
 */
export * as FixedUriConnector from "./FixedUriConnector.js"
/**
 * @since 0.1.0
 */
export * as HappyEyeballsConnector from "./HappyEyeballsConnector.js"
/**
 * @since 0.1.0
 */
export * as LimitingServer from "./LimitingServer.js"
/**
 * @since 0.1.0
 */
export * as MemoryNetwork from "./MemoryNetwork.js"
/**
 * @since 0.1.0
 */
export * as PlatformSocket from "./PlatformSocket.js"
/**
 * @since 0.1.0
 */
export * as Resolver from "./Resolver.js"
/**
 * @since 0.1.0
 */
export * as Server from "./Server.js"
/**
 * @since 0.1.0
 */
export * as SocketError from "./SocketError.js"
/**
 * @since 0.1.0
 */
export * as SocketUri from "./SocketUri.js"
/**
 * @since 0.1.0
 */
export * as TimeoutConnector from "./TimeoutConnector.js"
