/** Hugging Face repo ids ("ORG/NAME"), checked before any request so a typo gets a
 * clear message instead of a 404. The Hub's rules: letters, digits, '-', '_', '.';
 * no '--' or '..'; at most 96 characters. */
import { ColaError } from '../errors.js';

export interface RepoId {
  org: string;
  name: string;
  /** "ORG/NAME" */
  id: string;
}

const PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function parseRepoId(s: string): RepoId {
  const parts = s.split('/');
  const ok = parts.length === 2 && parts.every((p) => PART.test(p) && !p.includes('--') && !p.includes('..') && !p.endsWith('.'));
  if (!ok || s.length > 96) {
    throw new ColaError(
      `"${s}" is not a Hugging Face model id; expected ORG/NAME (letters, digits, '-', '_', '.'), e.g. HuggingFaceTB/SmolLM2-135M`,
    );
  }
  return { org: parts[0]!, name: parts[1]!, id: s };
}
