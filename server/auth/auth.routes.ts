/**
 * Setup, login, logout, "who am I" and changing the password on the LAN listener; setting and
 * resetting the password and lifting login delays on the local socket (docs/api.md).
 */
import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import { NotAuthenticatedError } from '../errors.js';
import { clearCookie, readCookie, SESSION_COOKIE, setCookie } from '../http/cookies.js';
import { csrfToken } from '../http/security.js';
import { parseInput, visibleText } from '../http/validate.js';
import type { AuthService } from './auth.service.js';

const username = visibleText()
  .min(3, 'Use at least 3 characters')
  .max(32, 'Use at most 32 characters')
  .regex(/^[a-z0-9._-]+$/, 'Use only lower-case letters, digits, dot, dash and underscore');

const SetupBody = z.strictObject({
  setupCode: z.string().min(1, 'Enter the setup code').max(64),
  username: username.default('admin'),
  password: z.string().max(256, 'Use at most 256 characters'),
});

const LoginBody = z.strictObject({
  username: z.string().min(1, 'Enter the user name').max(64),
  password: z.string().min(1, 'Enter the password').max(256),
});

const newPassword = z.string().max(256, 'Use at most 256 characters');

const ChangePasswordBody = z.strictObject({
  currentPassword: z.string().min(1, 'Enter the current password').max(256),
  newPassword,
});

const SetPasswordBody = z.strictObject({ newPassword });

/**
 * The client's address: the socket's, or behind a trusted proxy the forwarded one (Express's `trust
 * proxy`, set by lanApp); an IPv4 client of a `::` listener is written as IPv4.
 */
const address = (req: Request) => (req.ip ?? 'unknown').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');

/** The signed-in user's name (set by `requireSession`). */
export const userOf = (req: Request): string => (req as Request & { user: string }).user;

export function requireSession(auth: AuthService): RequestHandler {
  return (req, _res, next) => {
    const user = auth.authenticate(readCookie(req, SESSION_COOKIE));
    if (!user) return next(new NotAuthenticatedError('Please log in.'));
    (req as Request & { user: string }).user = user;
    next();
  };
}

export function authRoutes(auth: AuthService): Router {
  const router = Router();

  router.get('/session', (req, res) => {
    const user = auth.authenticate(readCookie(req, SESSION_COOKIE));
    res.set('Cache-Control', 'no-store').json({
      setupRequired: auth.setupRequired(),
      authenticated: user !== null,
      username: user,
      csrfToken: csrfToken(req, res),
    });
  });

  router.post('/setup', async (req, res) => {
    const body = parseInput(SetupBody, req.body, 'setup form');
    const session = await auth.setup(body, address(req));
    setCookie(req, res, SESSION_COOKIE, session.token, session.expiresAt - Date.now());
    res.status(201).json({ username: session.username, csrfToken: csrfToken(req, res, true) });
  });

  router.post('/login', async (req, res) => {
    const body = parseInput(LoginBody, req.body, 'login form');
    const session = await auth.login(body, address(req));
    auth.logout(readCookie(req, SESSION_COOKIE)); // a new session id at every login; a failed one ends nothing
    setCookie(req, res, SESSION_COOKIE, session.token, session.expiresAt - Date.now());
    res.json({ username: session.username, csrfToken: csrfToken(req, res, true), failedLogins: session.failedLogins });
  });

  router.post('/logout', (req, res) => {
    auth.logout(readCookie(req, SESSION_COOKIE));
    clearCookie(req, res, SESSION_COOKIE);
    res.status(204).end();
  });

  router.post('/password', requireSession(auth), async (req, res) => {
    const body = parseInput(ChangePasswordBody, req.body, 'password form');
    const session = await auth.changePassword(body, userOf(req), address(req));
    setCookie(req, res, SESSION_COOKIE, session.token, session.expiresAt - Date.now());
    res.json({ username: session.username, csrfToken: csrfToken(req, res, true) });
  });

  return router;
}

/**
 * Routes of the local socket only: whoever can open it is the service's own user. Set a new
 * password, reset it (setup required again, with a new setup code), lift login delays.
 */
export function localAuthRoutes(auth: AuthService): Router {
  const router = Router();

  router.post('/password', async (req, res) => {
    await auth.setPassword(parseInput(SetPasswordBody, req.body, 'password').newPassword);
    res.status(204).end();
  });

  router.post('/reset-password', async (_req, res) => {
    const { setupCode } = await auth.resetPassword();
    res.set('Cache-Control', 'no-store').json({ setupCode });
  });

  router.post('/login-delays/unlock', (_req, res) => {
    res.json(auth.unlockLogins());
  });
  return router;
}
