import type { Command } from '../command.js';
import { convertCommand } from './convert.js';
import { dataCommand } from './data.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { generateCommand } from './generate.js';
import { infoCommand } from './info.js';
import { trainCommand } from './train.js';
import { benchCommand } from './bench.js';
import { experimentCommand } from './experiment.js';
import { pullCommand } from './pull.js';
import { doctorCommand } from './doctor.js';
import { modelsCommand } from './models.js';
import { studioCommand } from './studio.js';

/** Every subcommand, in the order `cola --help` lists them. */
export const commands: Command[] = [
  trainCommand,
  experimentCommand,
  evalCommand,
  generateCommand,
  dataCommand,
  infoCommand,
  modelsCommand,
  exportCommand,
  studioCommand,
  convertCommand,
  pullCommand,
  benchCommand,
  doctorCommand,
];
