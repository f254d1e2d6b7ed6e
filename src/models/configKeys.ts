import { ColaError } from '../errors.js';

/** Typed reads of config.json keys with errors that name the file and key. */
export class ConfigReader {
  constructor(
    readonly raw: Record<string, unknown>,
    readonly file: string,
  ) {}

  int(key: string, fallback?: number): number {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > 1 << 24) {
      throw new ColaError(`${this.file}: key "${key}" must be a positive integer, found ${JSON.stringify(this.raw[key])}`);
    }
    return v;
  }

  num(key: string, fallback?: number): number {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ColaError(`${this.file}: key "${key}" must be a number, found ${JSON.stringify(this.raw[key])}`);
    }
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'boolean') throw new ColaError(`${this.file}: key "${key}" must be true or false, found ${JSON.stringify(v)}`);
    return v;
  }

  str(key: string, fallback?: string): string {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'string') throw new ColaError(`${this.file}: key "${key}" must be a string, found ${JSON.stringify(this.raw[key])}`);
    return v;
  }

  /** A token id, or the first of a list (generation configs allow several EOS ids). */
  tokenId(key: string): number | null {
    const v = this.raw[key];
    if (typeof v === 'number') return v;
    if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
    return null;
  }
}
