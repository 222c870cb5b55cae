import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, sealbox, tempDir } from '../helpers/cli.js';

let dir: string;
let cleanup: () => void;

beforeAll(() => {
  ensureBuilt();
  ({ dir, cleanup } = tempDir('completion'));
}, 120_000);
afterAll(() => {
  cleanup();
});

const hasShell = (shell: string): boolean => spawnSync(shell, ['-c', 'true']).status === 0;

/** Sources the bash script and completes `line` (the cursor at its end); returns the candidates. */
function completeBash(script: string, line: string): string[] {
  const file = join(dir, 'sealbox.bash');
  writeFileSync(file, script);
  const words = line.split(' ');
  const code = `source ${JSON.stringify(file)}
COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${words.length - 1}
_sealbox; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** The subcommands listed in `sealbox [PATH] --help`. */
function helpCommands(path: string[]): string[] {
  const help = sealbox([...path, '--help']).stdout;
  const section = help.split('Commands:\n')[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1] ?? '').filter((n) => n !== 'help');
}

describe('sealbox completion', () => {
  it('writes a bash script that bash accepts and that completes subcommands and flags', () => {
    const r = sealbox(['completion', 'bash']);
    expect(r.status).toBe(0);
    const file = join(dir, 'syntax.bash');
    writeFileSync(file, r.stdout);
    expect(spawnSync('bash', ['-n', file]).status).toBe(0);
    expect(completeBash(r.stdout, 'sealbox ').sort()).toEqual([...helpCommands([]), '--debug', '--help', '--version'].sort());
    expect(completeBash(r.stdout, 'sealbox un')).toEqual(['unseal']);
    expect(completeBash(r.stdout, 'sealbox keys ')).toEqual(expect.arrayContaining(['backup', 'restore', 'rotate']));
    expect(completeBash(r.stdout, 'sealbox seal --merge')).toEqual(['--merge-into']);
    expect(completeBash(r.stdout, 'sealbox --debug verify --st')).toEqual(['--staged']);
    expect(completeBash(r.stdout, 'sealbox keys backup --to')).toEqual(['--to-azure-secret']);
    // after a flag that takes a file: nothing from us, so bash completes file names
    expect(completeBash(r.stdout, 'sealbox seal --cert ')).toEqual([]);
  });

  it('covers every command the help lists, nested ones included', () => {
    const script = sealbox(['completion', 'bash']).stdout;
    for (const group of ['cert', 'keys']) {
      expect(completeBash(script, `sealbox ${group} `).filter((w) => !w.startsWith('-')).sort()).toEqual(helpCommands([group]).sort());
    }
  });

  it.each(['zsh', 'fish'])('writes a %s script (checked by the shell when it is installed)', (shell) => {
    const r = sealbox(['completion', shell]);
    expect(r.status).toBe(0);
    if (shell === 'zsh') {
      expect(r.stdout).toMatch(/^#compdef sealbox\n/);
      expect(r.stdout).toContain('bashcompinit');
      expect(r.stdout).toContain("'keys') echo 'rotate backup import restore --help'");
    } else {
      expect(r.stdout).toContain("complete -c sealbox -n '__fish_use_subcommand' -a 'unseal'");
      expect(r.stdout).toMatch(/complete -c sealbox -n '__fish_seen_subcommand_from seal[^']*' -l merge-into -r -F/);
      expect(r.stdout).toMatch(/-n '__fish_seen_subcommand_from keys; and __fish_seen_subcommand_from backup' -l to-azure-secret/);
    }
    if (hasShell(shell)) {
      const file = join(dir, `c.${shell}`);
      writeFileSync(file, r.stdout);
      expect(spawnSync(shell, ['-n', file], { encoding: 'utf8' }).stderr).toBe('');
    }
  });

  it('refuses an unknown shell with a usage error', () => {
    const r = sealbox(['completion', 'powershell']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('Allowed choices are bash, zsh, fish');
  });
});

describe('help', () => {
  it('shows no "(default: [])" on any command', () => {
    const paths = [[], ...helpCommands([]).map((c) => [c]), ...['cert', 'keys'].flatMap((g) => helpCommands([g]).map((c) => [g, c]))];
    expect(paths.length).toBeGreaterThan(15);
    for (const p of paths) {
      const help = sealbox([...p, '--help']).stdout;
      expect(help, p.join(' ')).toContain('Usage: sealbox');
      expect(help, p.join(' ')).not.toContain('(default: [])');
    }
    expect(sealbox(['seal', '--help']).stdout).toMatch(/--cert <cert>/);
  });
});
