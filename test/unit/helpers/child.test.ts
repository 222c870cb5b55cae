import { describe, expect, it } from 'vitest';
import { runMeasured } from '../../chaos/measure.js';
import { run } from '../../helpers/child.js';
import { sealbox, sealboxAsync } from '../../helpers/cli.js';

// Without an error listener on the child's stdin, the EPIPE of the first case
// is an uncaught exception: vitest fails the run ("Unhandled Errors", exit 1)
// and blames whichever test happened to be running.

// More than a pipe buffer holds, so the write is still pending when the child exits.
const BIG = 'x'.repeat(4 * 1024 * 1024);
const EXIT_AT_ONCE = ['-e', 'process.exit(3)'];

describe('test helpers that feed a child stdin', () => {
  it('run() resolves with the exit code of a child that exits without reading its stdin', async () => {
    const res = await run(process.execPath, EXIT_AT_ONCE, { input: BIG });
    expect(res.status).toBe(3);
  });

  it('runMeasured() returns the status of a child that exits without reading its stdin', async () => {
    const res = await runMeasured(['--no-such-flag'], { input: BIG });
    expect(res.status).not.toBe(0);
    expect(res.stderr).toMatch(/unknown option/);
  });

  it('sealbox() returns the status of a CLI run that refuses its arguments before reading stdin', () => {
    const res = sealbox(['--no-such-flag'], { input: BIG });
    expect(res.status).not.toBe(0);
    expect(res.stderr).toMatch(/unknown option/);
  });

  it('sealboxAsync() returns the status of a CLI run that refuses its arguments before reading stdin', async () => {
    const res = await sealboxAsync(['--no-such-flag'], { input: BIG });
    expect(res.status).not.toBe(0);
    expect(res.stderr).toMatch(/unknown option/);
  });

  it('run() rejects when the program cannot be started', async () => {
    await expect(run('/nonexistent/program', [], { input: 'x' })).rejects.toThrow(/nonexistent/);
  });
});
