/** pullModel(): a Hugging Face model repo -> a local folder cola loads (`cola pull`). */
import * as path from 'node:path';
import { ColaError } from '../errors.js';
import { readJsonObject } from '../io/fileIo.js';
import { INDEX_FILE } from '../io/safetensors.js';
import { hubOptionsFromEnv, listRepo, type HubOptions } from './api.js';
import { downloadFile, removePartFiles, type FileProgress } from './download.js';
import { checkConfig, METADATA_FILES, shardsOf, weightEntry } from './files.js';
import { parseRepoId } from './repoId.js';

export interface PullOptions extends Partial<HubOptions> {
  /** branch, tag or commit (default main) */
  revision?: string;
  /** folder to write (default models/ORG/NAME) */
  outDir?: string;
  onProgress?: (p: FileProgress) => void;
  /** called once per file that is already there with the right size */
  onSkip?: (file: string) => void;
}

export interface PullResult {
  dir: string;
  /** the commit the files came from (null if the Hub did not say) */
  sha: string | null;
  downloaded: string[];
  skipped: string[];
}

/** Weights first, config.json last: a folder with a config.json is complete. */
export async function pullModel(repoId: string, opts: PullOptions = {}): Promise<PullResult> {
  const repo = parseRepoId(repoId);
  // Options win over HF_ENDPOINT / HF_TOKEN, and are checked the same way.
  const hub = hubOptionsFromEnv({
    ...process.env,
    ...(opts.endpoint && { HF_ENDPOINT: opts.endpoint }),
    ...(opts.token && { HF_TOKEN: opts.token }),
  });
  const revision = opts.revision ?? 'main';
  const dir = opts.outDir ?? path.join('models', repo.org, repo.name);
  const listing = await listRepo(repo, revision, hub);
  const files = new Set(listing.files.keys());
  checkConfig(repo.id, files);
  const entry = weightEntry(repo.id, files);
  const at = listing.sha ?? revision; // one commit for every file, even if the branch moves meanwhile
  removePartFiles(dir);
  const result: PullResult = { dir, sha: listing.sha, downloaded: [], skipped: [] };
  const get = async (file: string): Promise<void> => {
    const fresh = await downloadFile(repo, at, file, path.join(dir, file), listing.files.get(file), hub, opts.onProgress ?? (() => {}));
    (fresh ? result.downloaded : result.skipped).push(file);
    if (!fresh) opts.onSkip?.(file);
  };
  await get(entry);
  if (entry === INDEX_FILE) for (const shard of shardsOf(repo.id, readJson(path.join(dir, INDEX_FILE)), files)) await get(shard);
  for (const f of METADATA_FILES) if (files.has(f)) await get(f);
  return result;
}

function readJson(file: string): unknown {
  try {
    return readJsonObject(file, 64 << 20); // bounded: the index came from the network
  } catch (e) {
    throw new ColaError(`${(e as Error).message}; delete ${file} and pull again`);
  }
}
