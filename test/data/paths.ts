/** Where the real data lives for tests: shared/data beside the checkout (never copied),
 * or beside its parent folder (a git worktree under wt/), or $COLA_SHARED_DATA. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/data/*.js -> repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const candidates = [process.env['COLA_SHARED_DATA'], path.resolve(repoRoot, '../shared/data'), path.resolve(repoRoot, '../../shared/data')];
const found = candidates.find((d) => d !== undefined && d !== '' && existsSync(path.join(d, 'RTE', 'val.jsonl')));
export const sharedData = found ?? path.resolve(repoRoot, '../shared/data');
export const haveShared = found !== undefined;
export const skipShared = haveShared
  ? false
  : `real data not found at ${sharedData} (shared/data beside the checkout or its parent, or $COLA_SHARED_DATA); skipping`;
