/**
 * The checks every request from the LAN passes (docs/security.md):
 * - Host: the name in the Host header must be one this box answers to, so a page on another site
 *   cannot reach the API through DNS rebinding;
 * - Origin and CSRF token on every state-changing call;
 * - security headers (helmet) with a Content-Security-Policy the admin page passes, and
 *   `X-Frame-Options: DENY` for browsers that predate `frame-ancestors`;
 * - `Cache-Control: no-store` on every API answer (they hold the box's state and, for some, secrets).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import type { Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { ForbiddenError } from '../errors.js';
import { CSRF_COOKIE, readCookie, setCookie } from './cookies.js';

/** The host names (without port) this box answers to: loopback, its host name, its addresses, and `extra`. */
export function allowedHostNames(extra: readonly string[] = []): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '::1']);
  const host = hostname().toLowerCase();
  names.add(host);
  names.add(`${host}.local`);
  for (const list of Object.values(networkInterfaces())) {
    for (const address of list ?? []) names.add(address.address.toLowerCase().replace(/%.*$/, ''));
  }
  for (const name of extra) names.add(name.toLowerCase());
  return names;
}

/** `example.lan:8080` → `example.lan`; `[fe80::1]:8080` → `fe80::1`. */
export function hostNameOf(hostHeader: string): string {
  const value = hostHeader.trim().toLowerCase();
  if (value.startsWith('[')) return value.slice(1, value.indexOf(']'));
  const colon = value.lastIndexOf(':');
  return colon > 0 && value.indexOf(':') === colon ? value.slice(0, colon) : value;
}

/** Refuses requests whose Host is not one of this box's names. The list is re-read every 30 s (DHCP may change it). */
export function hostCheck(extra: readonly string[]): RequestHandler {
  let names = allowedHostNames(extra);
  let readAt = Date.now();
  return (req, _res, next) => {
    if (Date.now() - readAt > 30_000) {
      names = allowedHostNames(extra);
      readAt = Date.now();
    }
    const host = req.headers.host;
    if (host && names.has(hostNameOf(host))) return next();
    next(
      new ForbiddenError(
        `This box does not answer to the name "${host ?? ''}". Open it by its own name or address, or add the name to SAFEHOLD_HOSTS.`,
      ),
    );
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const sameText = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * State-changing calls must come from this box's own page: an Origin (or, lacking one, a Referer)
 * equal to the Host the request was sent to, and an `X-CSRF-Token` header equal to the CSRF cookie.
 */
export function csrfCheck(): RequestHandler {
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const host = req.headers.host ?? '';
    const origin = req.headers.origin ?? refererOrigin(req.headers.referer);
    if (!origin || !sameOrigin(origin, host)) {
      return next(new ForbiddenError('This request did not come from this box\'s own page (Origin check failed). Reload the page and try again.'));
    }
    const cookie = readCookie(req, CSRF_COOKIE);
    const header = req.get('x-csrf-token');
    if (!cookie || !header || !sameText(cookie, header)) {
      return next(new ForbiddenError('The security token of this page is missing or out of date. Reload the page and try again.'));
    }
    next();
  };
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}

function sameOrigin(origin: string, host: string): boolean {
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}

/** The CSRF token of this browser: reuses the cookie, or sets a new one. */
export function csrfToken(req: Request, res: Response, renew = false): string {
  const existing = readCookie(req, CSRF_COOKIE);
  if (existing && !renew && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  const token = randomBytes(32).toString('base64url');
  setCookie(req, res, CSRF_COOKIE, token);
  return token;
}

/** helmet with a strict CSP; no HSTS and no upgrade-insecure-requests: the box is reached over plain HTTP on the LAN. */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    strictTransportSecurity: false,
    crossOriginEmbedderPolicy: false,
    xFrameOptions: { action: 'deny' },
  });
}

/** `Cache-Control: no-store` on every answer, refusals and errors included (a route may not loosen it). */
export function noStore(): RequestHandler {
  return (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  };
}

