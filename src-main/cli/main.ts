import { Command, CommanderError } from 'commander';
import { APP_VERSION } from '../engine/version.js';
import { registerInfo } from './commands/info.js';
import { registerModelCommands } from './commands/model-commands.js';
import { registerTaskCommands } from './commands/task-commands.js';
import { registerReftCommands } from './commands/reft-commands.js';
import { registerHeadsCommands } from './commands/heads-commands.js';
import { registerRunCommands } from './commands/run-commands.js';
import { registerExportCommands } from './commands/export-commands.js';
import { registerPatchCommands } from './commands/patch-commands.js';
import { registerDasCommands } from './commands/das-commands.js';
import { registerServeCommands } from './commands/serve-commands.js';
import { fail } from './output.js';

const program = new Command();
program
  .name('subspace')
  .description('Subspace: study and steer language models through their internal representations')
  .version(APP_VERSION)
  .option('--backend <name>', 'tensor backend: tensorflow-gpu, tensorflow, wasm or cpu (default: best available; env SUBSPACE_BACKEND)')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerInfo(program);
registerModelCommands(program);
registerTaskCommands(program);
registerReftCommands(program);
registerHeadsCommands(program);
registerRunCommands(program);
registerExportCommands(program);
registerPatchCommands(program);
registerDasCommands(program);
registerServeCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander already printed its message; help and version exit cleanly.
    process.exit(e.exitCode === 0 ? 0 : 2);
  }
  fail(e);
}
