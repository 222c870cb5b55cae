import { describe, expect, it } from 'vitest';
import { renderGoTemplate } from '../../../src/format/go-template.js';
import { isSealboxError } from '../../../src/errors.js';

const dot = { password: 'p<&>"w', user: 'admin', empty: '' };

describe('Go templates of Sealed Secrets template.data', () => {
  it.each([
    ['plain text', 'plain text'],
    ['{{ .user }}', 'admin'],
    ['{{.user}}:{{ .password }}', 'admin:p<&>"w'],
    ['{{ index . "user" }}', 'admin'],
    ['{{ toJson .password }}', '"p\\u003c\\u0026\\u003e\\"w"'],
    ['{{ .user | upper | quote }}', '"ADMIN"'],
    ['{{ .user | b64enc }}', 'YWRtaW4='],
    ['{{ "YWRtaW4=" | b64dec }}', 'admin'],
    ['{{ .empty | default "fallback" }}', 'fallback'],
    ['{{ printf "%s@%s" .user "host" }}', 'admin@host'],
    ['{{ .user | replace "ad" "AD" }}', 'ADmin'],
    ['a  {{- .user -}}  b', 'aadminb'],
    ['{{ .missing }}', '<no value>'],
    ['{{ .user | sha256sum }}', '8c6976e5b5410415bde908bd4dee15dfb167a9c873fc4bb8a81f6f2ab448a918'],
    ['{{ .user | trimPrefix "ad" }}', 'min'],
    ['{{ (print .user "x") | len }}', '6'],
    ['{{/* a comment */}}x', 'x'],
  ])('renders %j as %j', (template, out) => {
    expect(renderGoTemplate(template, dot, 'test')).toBe(out);
  });

  it.each([
    ['{{ .password | htpasswd "u" }}', 'the template function "htpasswd"'],
    ['{{ env "HOME" }}', 'the template function "env"'],
    ['{{ constructor }}', 'the template function "constructor"'],
    ['{{ if .user }}x{{ end }}', 'the template action "if"'],
    ['{{ .user', 'unclosed action'],
  ])('refuses %j, naming what it lacks and no value', (template, message) => {
    let caught: unknown;
    try {
      renderGoTemplate(template, dot, 'test');
    } catch (err) {
      caught = err;
    }
    expect(isSealboxError(caught, 'INPUT')).toBe(true);
    expect((caught as Error).message).toContain(message);
    expect((caught as Error).message).not.toContain('p<&>');
  });
});
