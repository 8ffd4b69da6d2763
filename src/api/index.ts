/**
 * @module api
 * The Proxmox VE compatible REST API of `cvmctl serve`: the HTTPS server core, its TLS
 * certificate, and the routes (one file per endpoint group under ./routes).
 */

export { createApiServer, type ApiServer, type ApiServerOptions } from './server.js';
export { loadTls, sslPaths, type TlsMaterial } from './tls.js';
export type { RouteDef, ApiRequest, ServerContext } from './types.js';
