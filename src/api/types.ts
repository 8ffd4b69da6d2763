/**
 * @module api/types
 * The shapes shared by the server core and the route files: a route is a method, a path
 * template (`/nodes/{node}/qemu/{vmid}/config`), the schema of its parameters (the same
 * `PropertySchema` objects the config option table uses), whether VM config keys are accepted
 * (validated with the option table, as the CLI does), who may call it, and a handler that
 * returns the `data` of PVE's `{"data": …}` envelope.
 */

import type { Readable } from 'node:stream';
import type { NodeProxy } from './proxy.js';
import type { AccessControl, Identity } from '../access/types.js';
import type { ConfigCache } from './config-cache.js';
import type { HostFacts } from '../host/facts.js';
import type { LifecycleContext } from '../run/context.js';
import type { PropertySchema } from '../schema/types.js';
import type { TaskRunner } from '../tasks/runner.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What every handler can reach: the state root, this node, access control, the task runner. */
export interface ServerContext {
  root: string;
  node: string;
  access: AccessControl;
  tasks: TaskRunner;
  /** SHA-256 fingerprint of the TLS certificate (`AA:BB:…`), for `GET /nodes`. */
  fingerprint: string;
  /** VM configs as the store reads them, parsed once per content. */
  configs: ConfigCache;
  /** This host's facts (local profile), probed once on first use. */
  facts(): Promise<HostFacts>;
  /** The lifecycle context for start/stop (host facts probed once, lazily). */
  lifecycle(warn?: (message: string) => void): Promise<LifecycleContext>;
  /** Forwarding to other cluster nodes (cluster members only). */
  proxy?: NodeProxy;
}

export interface ApiRequest {
  server: ServerContext;
  /** Undefined only on routes that need no authentication. */
  identity: Identity | undefined;
  /** Validated parameters (path, body, query merged): text, booleans as `1`/`0`. */
  params: Record<string, string>;
  /** Config keys given (routes with `configKeys`), validated. */
  configParams: Record<string, string>;
  /** Array parameters (route `lists`), validated item by item. */
  lists?: Record<string, string[]>;
  /** The unread request body of a `rawBody` route (parameters then come from the query only). */
  body?: Readable;
  method: HttpMethod;
  /** Raw request headers (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
}

/** A result with envelope fields besides `data` (task log: `total`). */
export class Envelope {
  constructor(
    readonly data: unknown,
    readonly extra: Record<string, unknown>,
  ) {}
}

/**
 * A result already encoded as JSON (a cached answer, see ConfigCache.view): the server puts the
 * text into the envelope as it is instead of encoding the same data again on every request.
 */
export class EncodedData {
  constructor(readonly json: string) {}
}

export interface RouteDef {
  method: HttpMethod;
  /** Below `/api2/json`, with `{name}` segments. */
  path: string;
  /** Parameters besides the path's; absent means none accepted. */
  params?: Readonly<Record<string, PropertySchema>>;
  /** Array parameters (PVE `type => 'array'`) by the schema of their items. */
  lists?: Readonly<Record<string, PropertySchema>>;
  /** Accept every settable VM config key too (create / update). */
  configKeys?: boolean;
  /** The body is data for the handler (a streamed volume), not parameters: it is left unread. */
  rawBody?: boolean;
  /** No authentication (PVE: /access/ticket, /access/domains). */
  noAuth?: boolean;
  /** Throws PERMISSION_DENIED (via `access.check`) unless the caller may do this. */
  permissions?: (req: ApiRequest) => Promise<void>;
  handler: (req: ApiRequest) => Promise<unknown>;
}

/** Authenticated identity of a request on a route that needs one. */
export function identityOf(req: ApiRequest): Identity {
  if (!req.identity) throw new Error('route without authentication asked for the identity');
  return req.identity;
}
