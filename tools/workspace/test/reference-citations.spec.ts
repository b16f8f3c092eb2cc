// Every citation of docs/reference in the apps, libs and tools names a page and a section that exist: the facts a
// comment leans on must be findable in the repository, in our words. The checker is itself checked on a folder with
// bad citations, so a checker that finds nothing cannot pass for a clean tree.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findCitations, formatCitations, unresolvedCitations } from '../src/reference-citations.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const referenceDir = join(root, 'docs/reference');

describe('reference citations', () => {
  it.each(['apps', 'libs', 'tools'])('%s cites only sections docs/reference has', (folder) => {
    const all = findCitations(join(root, folder), referenceDir);
    expect(all.length).toBeGreaterThan(0);
    const bad = all.filter((c) => c.problem !== undefined);
    if (bad.length > 0) expect.fail(`cite a section that exists, or add it to the page:\n${formatCitations(folder, bad)}`);
  });

  const tmp = mkdtempSync(join(tmpdir(), 'reference-citations-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('finds missing pages, sections and topics, across wrapped comment lines, and passes the good ones', () => {
    const ref = join(tmp, 'docs/reference');
    mkdirSync(ref, { recursive: true });
    mkdirSync(join(tmp, 'src/node_modules/x'), { recursive: true });
    // Built from pieces, so that this file's own text cites nothing.
    const S = '\u00a7';
    writeFileSync(
      join(ref, 'linkerd-contracts.md'),
      `# C\n\n## ${S}1 API\n\n- **${S}1.2 Addresses**: words.\n\n## ${S}4 Policy\n\n- **Inbound Server response**: words.\n`,
    );
    writeFileSync(join(ref, 'proxy.md'), `# P\n\n## ${S}3 TLS\n\n- **Refresh timing**: at 70 %.\n`);
    const brief = ['..', 'shared', 'reference', 'proxy.md'].join('/');
    writeFileSync(
      join(tmp, 'src/a.ts'),
      [
        `// Good (docs/reference/linkerd-contracts.md ${S}1.2, ${S}4 "Inbound Server response"; docs/reference/proxy.md ${S}3`,
        '// "Refresh timing").',
        `// Bad section (docs/reference/linkerd-contracts.md ${S}1.3–1.4) and short form (contracts ${S}6.1).`,
        `/** Bad topic (docs/reference/proxy.md ${S}3 "Readiness gating"), bad page (docs/reference/nowhere.md ${S}1). */`,
        `// Outside the repository: ${brief} ${S}3. Not ours: RFC 8446 ${S}4.1.2, README.md ${S}2.`,
      ].join('\n'),
    );
    writeFileSync(join(tmp, 'src/b.proto'), `// reference: linkerd-contracts.md\n// ${S}9.9\n`);
    writeFileSync(join(tmp, 'src/node_modules/x/c.ts'), `// docs/reference/nowhere.md ${S}1\n`);
    const found = findCitations(join(tmp, 'src'), ref);
    expect(found.filter((c) => c.problem === undefined).map((c) => `${c.page} §${c.section}${c.topic ? ` ${c.topic}` : ''}`)).toEqual([
      'linkerd-contracts.md §1.2',
      'linkerd-contracts.md §4 Inbound Server response',
      'proxy.md §3 Refresh timing',
    ]);
    expect(formatCitations('src', unresolvedCitations(join(tmp, 'src'), ref))).toBe(
      [
        'src/a.ts:3 linkerd-contracts.md has no §1.3',
        'src/a.ts:3 linkerd-contracts.md has no §1.4',
        'src/a.ts:3 linkerd-contracts.md has no §6.1',
        'src/a.ts:4 proxy.md §3 has no topic "Readiness gating"',
        'src/a.ts:4 docs/reference/nowhere.md does not exist',
        `src/a.ts:5 ${brief} is outside the repository: cite docs/reference`,
        'src/b.proto:2 linkerd-contracts.md has no §9.9',
        '',
      ].join('\n'),
    );
  });
});
