// Entry point of the single executable (`npm run build:binary`, Node SEA).
// Built with a V8 startup snapshot: the modules' top-level code and building
// the commander program run once, at build time, and the executable starts
// from that heap; `main` then runs on each start with that process's argv,
// environment and streams (nothing here reads them before).
import { startupSnapshot } from 'node:v8';
import { buildProgram, main } from './program.js';

function run(program = buildProgram()): void {
  void main(process.argv, program).then((code) => {
    process.exitCode = code;
  });
}

if (startupSnapshot.isBuildingSnapshot()) {
  const program = buildProgram();
  startupSnapshot.setDeserializeMainFunction(() => {
    run(program);
  });
} else {
  run();
}
