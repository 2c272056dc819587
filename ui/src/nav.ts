// Shared by the pages: the signed-in caller and links to hash routes.
import type { WhoAmI } from './api';

/** The signed-in caller. */
export interface Session {
  who: WhoAmI;
  /** True when the token has `scope` (admin implies every scope). */
  can(scope: 'publish' | 'consume' | 'read' | 'admin'): boolean;
}

/** The session of a `GET /v1/whoami` answer. */
export function session(who: WhoAmI): Session {
  return { who, can: (scope) => who.scopes.includes('admin') || who.scopes.includes(scope) };
}

/** `#/q/<queue>/<rest…>` with each part encoded. */
export function href(...parts: string[]): string {
  return `#/${parts.map((p) => encodeURIComponent(p)).join('/')}`;
}
