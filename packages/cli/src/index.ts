/**
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"
/**
 * @since 0.1.0
 */
export * as Connect from "./Connect.js"
/**
 * @since 0.1.0
 */
export * as Listen from "./Listen.js"
