/** Household users and their grants on shares (docs/api.md, "Household users"). */
import { Router } from 'express';
import { parseInput } from '../http/validate.js';
import type { ShareService } from './share.service.js';
import { CreateUserBody, GrantBody, PasswordBody, type HouseholdUserService } from './user.service.js';

export function usersRoutes(users: HouseholdUserService, shares: ShareService): Router {
  const router = Router();
  router.get('/pool/users', async (_req, res) => {
    res.json({ users: await users.list() });
  });
  router.post('/pool/users', async (req, res) => {
    res.status(201).json({ user: await users.create(parseInput(CreateUserBody, req.body, 'user')) });
  });
  router.put('/pool/users/:name/password', async (req, res) => {
    await users.setPassword(req.params.name, parseInput(PasswordBody, req.body, 'password').password);
    res.status(204).end();
  });
  router.delete('/pool/users/:name', async (req, res) => {
    await users.remove(req.params.name);
    res.status(204).end();
  });
  router.put('/shares/:name/grants/:user', async (req, res) => {
    await users.grant(req.params.name, req.params.user, parseInput(GrantBody, req.body, 'grant').access);
    res.json({ share: shares.get(req.params.name) });
  });
  router.delete('/shares/:name/grants/:user', async (req, res) => {
    await users.revoke(req.params.name, req.params.user);
    res.json({ share: shares.get(req.params.name) });
  });
  return router;
}
