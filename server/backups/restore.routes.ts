/**
 * Restore from rotation drives (docs/api.md, "Restore"; the rules in docs/restore.md). Every
 * parameter, query and body is checked with a schema before the service runs; a download streams
 * a private temporary file and removes it when the response ends or is aborted.
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Router } from 'express';
import { parseInput } from '../http/validate.js';
import { attachmentDisposition, DownloadQuery, DriveIdParam, LsQuery, RestoreBody, SnapshotIdParam, type RestoreService } from './restore.service.js';

export function restoreRoutes(restore: RestoreService): Router {
  const router = Router();
  const drive = (value: unknown) => parseInput(DriveIdParam, value, 'drive id');
  const snapshot = (value: unknown) => parseInput(SnapshotIdParam, value, 'snapshot id');

  router.get('/backups/drives/:driveId/restore/snapshots', async (req, res) => {
    res.json({ snapshots: await restore.snapshots(drive(req.params.driveId)) });
  });

  router.get('/backups/drives/:driveId/snapshots/:snapshotId/ls', async (req, res) => {
    const driveId = drive(req.params.driveId);
    const snapshotId = snapshot(req.params.snapshotId);
    const { path } = parseInput(LsQuery, req.query, 'query');
    res.json(await restore.ls(driveId, snapshotId, path));
  });

  router.post('/backups/drives/:driveId/snapshots/:snapshotId/restore', async (req, res) => {
    const driveId = drive(req.params.driveId);
    const snapshotId = snapshot(req.params.snapshotId);
    const body = parseInput(RestoreBody, req.body, 'restore');
    res.status(202).json(await restore.restore(driveId, snapshotId, body));
  });

  router.get('/backups/drives/:driveId/snapshots/:snapshotId/download', async (req, res) => {
    const driveId = drive(req.params.driveId);
    const snapshotId = snapshot(req.params.snapshotId);
    const { path } = parseInput(DownloadQuery, req.query, 'query');
    const download = await restore.download(driveId, snapshotId, path);
    let removed = false;
    const remove = () => {
      if (removed) return;
      removed = true;
      void download.remove().catch(() => undefined);
    };
    res.on('close', remove);
    try {
      res.status(200).set({
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(download.size),
        'Content-Disposition': attachmentDisposition(download.name),
        'Cache-Control': 'no-store',
      });
      await pipeline(createReadStream(download.file), res);
    } catch (error) {
      remove();
      // Headers gone out: the client sees a cut-off body (its length is wrong); nothing more to say.
      if (!res.headersSent) throw error;
      res.destroy();
    }
  });

  return router;
}
