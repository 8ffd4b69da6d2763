/**
 * @module api/router
 * Finding the route for a request: the path (already percent-decoded, empty segments dropped
 * like PVE's `split('/+')`) is matched segment by segment against the route templates; a
 * `{name}` segment captures one segment. Literal segments win over captures, so
 * `/nodes/{node}/qemu/{vmid}/status/current` never matches `{upid}`-like templates by accident.
 * A last segment `{name*}` takes the rest of the path, slashes included (volume ids).
 * An unknown path or method has no route: the server answers PVE's 501.
 */

import type { HttpMethod, RouteDef } from './types.js';

interface Segment {
  literal?: string;
  capture?: string;
  rest?: boolean;
}

interface CompiledRoute {
  def: RouteDef;
  segments: Segment[];
}

export interface RouteMatch {
  route: RouteDef;
  pathParams: Record<string, string>;
}

export class Router {
  private readonly byMethod = new Map<string, CompiledRoute[]>();

  constructor(routes: readonly RouteDef[]) {
    for (const def of routes) this.add(def);
  }

  add(def: RouteDef): void {
    const segments = def.path
      .split('/')
      .filter(Boolean)
      .map((s): Segment => {
        if (!s.startsWith('{') || !s.endsWith('}')) return { literal: s };
        const name = s.slice(1, -1);
        return name.endsWith('*') ? { capture: name.slice(0, -1), rest: true } : { capture: name };
      });
    const list = this.byMethod.get(def.method) ?? [];
    list.push({ def, segments });
    // more literal segments first: the most specific template wins
    list.sort((a, b) => literalScore(b) - literalScore(a));
    this.byMethod.set(def.method, list);
  }

  match(method: HttpMethod | string, parts: readonly string[]): RouteMatch | undefined {
    const list = this.byMethod.get(method);
    if (!list) return undefined;
    for (const r of list) {
      const rest = r.segments[r.segments.length - 1]?.rest === true;
      if (rest ? parts.length < r.segments.length : r.segments.length !== parts.length) continue;
      const pathParams: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < r.segments.length; i++) {
        const seg = r.segments[i] as Segment;
        const part = parts[i] as string;
        if (seg.rest) pathParams[seg.capture as string] = parts.slice(i).join('/');
        else if (seg.literal !== undefined) {
          if (seg.literal !== part) {
            ok = false;
            break;
          }
        } else pathParams[seg.capture as string] = part;
      }
      if (ok) return { route: r.def, pathParams };
    }
    return undefined;
  }
}

function literalScore(r: CompiledRoute): number {
  return r.segments.reduce((n, s, i) => n + (s.literal !== undefined ? 2 ** (16 - i) : 0), 0);
}
