/** Where the real data lives for tests: ../shared/data beside the checkout (never copied). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/data/*.js -> repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const sharedData = path.resolve(repoRoot, '../shared/data');
export const haveShared = existsSync(path.join(sharedData, 'RTE', 'val.jsonl'));
export const skipShared = haveShared ? false : `real data not found at ${sharedData} (../shared/data beside the checkout); skipping`;
