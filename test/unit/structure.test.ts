/**
 * Keeps the sources readable in one sitting: a file in src/ over 450 lines, or a function over 80,
 * fails unless docs/ARCHITECTURE.md lists it under "## Size exceptions" with a reason; an exception
 * that is no longer needed fails too, so the table stays true. Sizes come from the TypeScript
 * syntax tree: a function spans from its first line (below its doc comment) to its closing brace.
 * Counted as functions: function declarations, methods and accessors, class constructors, and
 * arrow functions and function expressions assigned to a name (a variable, a property, a class
 * field); a callback passed inline counts as part of the function around it.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');
const SRC_DIR = path.join(ROOT, 'src');
const ARCHITECTURE = path.join(ROOT, 'docs', 'ARCHITECTURE.md');
const MAX_FILE_LINES = 450;
const MAX_FUNCTION_LINES = 80;

interface Measured {
  /** `src/app.ts` for a file, `src/app.ts: startApp` for a function: as the table writes it. */
  readonly where: string;
  readonly lines: number;
  readonly limit: number;
}

interface SizeException {
  readonly where: string;
  readonly why: string;
}

function listTsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return listTsFiles(full);
    return entry.isFile() && entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Lines as an editor numbers them: a final newline does not start another line. */
function lineCount(text: string): number {
  if (text === '') return 0;
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

function propertyName(name: ts.PropertyName, sf: ts.SourceFile): string {
  return ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteralLike(name)
    ? name.text
    : name.getText(sf);
}

/** `Class.member` inside a class, `member` elsewhere (object literals). */
function memberName(node: ts.Node, member: string): string {
  const owner = node.parent;
  if (owner !== undefined && ts.isClassLike(owner)) return `${owner.name?.text ?? '(class)'}.${member}`;
  return member;
}

/** The name an arrow function or function expression is assigned to, if any. */
function assignedName(fn: ts.ArrowFunction | ts.FunctionExpression, sf: ts.SourceFile): string | undefined {
  let node: ts.Node = fn;
  while (
    ts.isParenthesizedExpression(node.parent) ||
    ts.isAsExpression(node.parent) ||
    ts.isSatisfiesExpression(node.parent) ||
    ts.isNonNullExpression(node.parent)
  )
    node = node.parent;
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) && parent.initializer === node && ts.isIdentifier(parent.name))
    return parent.name.text;
  if (ts.isPropertyDeclaration(parent) && parent.initializer === node)
    return memberName(parent, propertyName(parent.name, sf));
  if (ts.isPropertyAssignment(parent) && parent.initializer === node) return propertyName(parent.name, sf);
  if (
    ts.isBinaryExpression(parent) &&
    parent.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
    parent.right === node
  )
    return parent.left.getText(sf);
  if (ts.isExportAssignment(parent)) return 'default';
  return undefined;
}

/** The name a function is reported under, or undefined for what is not measured on its own. */
function functionName(node: ts.Node, sf: ts.SourceFile): string | undefined {
  if (ts.isFunctionDeclaration(node)) return node.body ? (node.name?.text ?? 'default') : undefined;
  if (ts.isConstructorDeclaration(node)) return node.body ? memberName(node, 'constructor') : undefined;
  if (
    ts.isMethodDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  ) {
    if (!node.body) return undefined;
    const prefix = ts.isGetAccessorDeclaration(node)
      ? 'get '
      : ts.isSetAccessorDeclaration(node)
        ? 'set '
        : '';
    return memberName(node, `${prefix}${propertyName(node.name, sf)}`);
  }
  if (ts.isArrowFunction(node) || ts.isFunctionExpression(node)) return assignedName(node, sf);
  return undefined;
}

/** The file and each named function in it, with the lines they span. */
function measure(relativePath: string, text: string): Measured[] {
  const sf = ts.createSourceFile(relativePath, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: Measured[] = [{ where: relativePath, lines: lineCount(text), limit: MAX_FILE_LINES }];
  const visit = (node: ts.Node): void => {
    const name = functionName(node, sf);
    if (name !== undefined) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      found.push({ where: `${relativePath}: ${name}`, lines: last - first + 1, limit: MAX_FUNCTION_LINES });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The rows of the `| Where | Why |` table under `## Size exceptions`. */
function parseExceptions(markdown: string): SizeException[] {
  const lines = markdown.split('\n');
  const heading = lines.findIndex((line) => /^##\s+Size exceptions\s*$/.test(line));
  if (heading < 0) throw new Error('docs/ARCHITECTURE.md has no "## Size exceptions" heading');
  const section: string[] = [];
  for (const line of lines.slice(heading + 1)) {
    if (/^#{1,2}\s/.test(line)) break;
    section.push(line);
  }
  // Cells split on pipes not escaped as \|; lines outside the table (prose, comments) are skipped.
  const rows = section
    .filter((line) => line.trim().startsWith('|'))
    .map((line) =>
      line
        .trim()
        .replace(/^\|/, '')
        .replace(/(?<!\\)\|$/, '')
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
  const [header, separator, ...entries] = rows;
  if (header?.join('|') !== 'Where|Why' || !separator?.every((cell) => /^:?-+:?$/.test(cell)))
    throw new Error('"## Size exceptions" needs a table with the columns | Where | Why |');
  // A row holding only an HTML comment is a placeholder (`| <!-- ... --> | |`), not an entry.
  return entries
    .filter((cells) => !cells.every((cell) => cell === '' || /^<!--.*-->$/.test(cell)))
    .map(([where = '', why = '']) => ({ where: where.replace(/`/g, '').trim(), why }));
}

function measureSources(): Measured[] {
  return listTsFiles(SRC_DIR)
    .sort()
    .flatMap((file) =>
      measure(path.relative(ROOT, file).split(path.sep).join('/'), fs.readFileSync(file, 'utf8')),
    );
}

describe('source sizes', () => {
  const measured = measureSources();
  const exceptions = parseExceptions(fs.readFileSync(ARCHITECTURE, 'utf8'));
  const excepted = new Set(exceptions.map((e) => e.where));

  it('finds the sources and their functions', () => {
    const wheres = measured.map((m) => m.where);
    expect(wheres).toEqual(expect.arrayContaining(['src/app.ts', 'src/app.ts: startApp']));
  });

  it('reads a well-formed exceptions table in docs/ARCHITECTURE.md', () => {
    const malformed = exceptions
      .filter((e) => !/^src\/\S+\.ts(: \S.*)?$/.test(e.where) || e.why === '')
      .map((e) => `| ${e.where} | ${e.why} |`);
    const duplicates = [...excepted].filter((w) => exceptions.filter((e) => e.where === w).length > 1);
    expect({ malformed, duplicates }).toEqual({ malformed: [], duplicates: [] });
  });

  it(`has no file over ${MAX_FILE_LINES} lines and no function over ${MAX_FUNCTION_LINES}, but the listed exceptions`, () => {
    const offenders = measured
      .filter((m) => m.lines > m.limit && !excepted.has(m.where))
      .map((m) => `  ${m.where}: ${m.lines} lines (limit ${m.limit})`);
    if (offenders.length > 0)
      throw new Error(
        `${offenders.length} over the size limit; split them, or list them with a reason under ` +
          `"## Size exceptions" in docs/ARCHITECTURE.md:\n${offenders.join('\n')}`,
      );
  });

  it('lists no exception that is no longer needed', () => {
    const stale = exceptions.flatMap(({ where }) => {
      const matches = measured.filter((m) => m.where === where);
      if (matches.length === 0) return [`  ${where}: not found in src/`];
      const longest = Math.max(...matches.map((m) => m.lines));
      return longest > matches[0].limit ? [] : [`  ${where}: ${longest} lines, within ${matches[0].limit}`];
    });
    if (stale.length > 0)
      throw new Error(
        `${stale.length} stale entries under "## Size exceptions" in docs/ARCHITECTURE.md; ` +
          `remove them:\n${stale.join('\n')}`,
      );
  });

  describe('the measurer itself', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const source = [
      `export function declared() {\n${body(3)}\n}`,
      `const arrow = async (x: number) => {\n${body(2)}\n};`,
      `const expression = function () {\n${body(1)}\n} as () => void;`,
      `class Service {\n  private readonly field = () => 1;\n  constructor() {\n${body(4)}\n  }\n` +
        `  async method(): Promise<void> {\n${body(2)}\n  }\n  get size(): number {\n    return 1;\n  }\n` +
        `  overloaded(): void;\n  overloaded(x?: number): void {}\n}`,
      `const api = {\n  run() {\n    return [1].map((n) => {\n      return n;\n    });\n  },\n  stop: () => 0,\n};`,
      `declare function ambient(): void;`,
    ].join('\n');
    const sizes = Object.fromEntries(
      measure('src/example.ts', `${source}\n`).map((m) => [m.where.replace('src/example.ts: ', ''), m.lines]),
    );

    it('measures files, functions, methods, constructors and named arrows', () => {
      expect(sizes).toEqual({
        'src/example.ts': lineCount(`${source}\n`),
        declared: 5,
        arrow: 4,
        expression: 3,
        'Service.field': 1,
        'Service.constructor': 6,
        'Service.method': 4,
        'Service.get size': 3,
        'Service.overloaded': 1,
        run: 5,
        stop: 1,
      });
    });

    it('parses the exceptions table', () => {
      const markdown = [
        '# Architecture',
        '## Size exceptions',
        'Prose.',
        '| Where | Why |',
        '| --- | --- |',
        '| `src/sim/scenario.ts` | one generator |',
        '| src/app.ts: startApp | wiring \\| order |',
        '| <!-- services: filled in by the services move --> | |',
        '<!-- a comment line -->',
        '## Next',
        '| src/ignored.ts | another table |',
      ].join('\n');
      expect(parseExceptions(markdown)).toEqual([
        { where: 'src/sim/scenario.ts', why: 'one generator' },
        { where: 'src/app.ts: startApp', why: 'wiring \\| order' },
      ]);
      expect(() => parseExceptions('# Architecture\n')).toThrow('no "## Size exceptions" heading');
    });
  });
});
