#!/usr/bin/env node
// Prints the totals of a vitest JSON report as one closing line: "N passed, N failed, N skipped".
import { readFileSync } from 'node:fs';

const r = JSON.parse(readFileSync(process.argv[2], 'utf8'));
process.stdout.write(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped\n`);
if (r.numTotalTests === 0) {
  process.stderr.write('no test ran\n');
  process.exit(1);
}
