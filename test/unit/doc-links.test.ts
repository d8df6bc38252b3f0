import fs from 'node:fs';
import path from 'node:path';

/**
 * Every relative link of README.md and docs/*.md leads somewhere: the file exists, and an
 * `#anchor` (in the same file or another Markdown file) is one of its headings, slugged as GitHub
 * does, or an explicit `<a id>`/`<a name>`. Links inside code are not links; web links are not
 * checked (no network in tests).
 */
const ROOT = path.resolve(__dirname, '..', '..');
const FILES = [
  'README.md',
  ...fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The text outside fenced code blocks and inline code spans, line by line (line numbers kept). */
function proseLines(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line.replace(/`[^`]*`/g, (code) => ' '.repeat(code.length));
  });
}

/** GitHub's heading anchor: lower case, punctuation dropped (but - and _), spaces to hyphens. */
export function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/<[^>]+>/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a Markdown file offers: its headings (duplicates numbered as GitHub does) and explicit ids. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const slug = githubSlug(heading[1]);
      const n = seen.get(slug) ?? 0;
      seen.set(slug, n + 1);
      anchors.add(n === 0 ? slug : `${slug}-${n}`);
    }
    for (const [, id] of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(id);
  }
  return anchors;
}

/** Each inline link or image target of a file, with its line. */
function linksOf(markdown: string): { line: number; target: string }[] {
  return proseLines(markdown).flatMap((text, i) =>
    [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(([, target]) => ({
      line: i + 1,
      target,
    })),
  );
}

function brokenLinks(file: string): string[] {
  const markdown = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const broken: string[] = [];
  for (const { line, target } of linksOf(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...
    const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
    const resolved = pathPart
      ? path.join(path.dirname(path.join(ROOT, file)), decodeURI(pathPart))
      : path.join(ROOT, file);
    const where = `${file}:${line} -> ${target}`;
    if (!fs.existsSync(resolved)) {
      broken.push(`${where}: no such file`);
      continue;
    }
    if (anchor !== undefined && resolved.endsWith('.md')) {
      if (!anchorsOf(fs.readFileSync(resolved, 'utf8')).has(decodeURIComponent(anchor)))
        broken.push(`${where}: no heading or id "${anchor}"`);
    }
  }
  return broken;
}

describe('links in README.md and docs/*.md', () => {
  test('GitHub slugs: punctuation dropped, spaces to hyphens, code and case folded', () => {
    expect(githubSlug('Node version: 20.19 or newer')).toBe('node-version-2019-or-newer');
    expect(githubSlug('GraphiQL at `/graphiql` (offline)')).toBe('graphiql-at-graphiql-offline');
    expect(githubSlug('Settings: `.env`, CORS, logs')).toBe('settings-env-cors-logs');
    expect(githubSlug('1. Hive Gateway (tested)')).toBe('1-hive-gateway-tested');
    expect([...anchorsOf('# A\n## A\n```\n# not a heading\n```\n<a id="x"></a>')]).toEqual(['a', 'a-1', 'x']);
  });

  test('the files to check are found, with links in them', () => {
    expect(FILES).toEqual(expect.arrayContaining(['README.md', 'docs/OPERATIONS.md', 'docs/API.md']));
    expect(FILES.flatMap((f) => linksOf(fs.readFileSync(path.join(ROOT, f), 'utf8'))).length).toBeGreaterThan(
      30,
    );
  });

  test.each(FILES)('%s: every relative link and #anchor resolves', (file) => {
    expect(brokenLinks(file)).toEqual([]);
  });
});
