import type { Command } from '../command.js';
import { convertCommand } from './convert.js';
import { generateCommand } from './generate.js';
import { trainCommand } from './train.js';

/** Every subcommand, in the order `cola --help` lists them. */
export const commands: Command[] = [trainCommand, generateCommand, convertCommand];
