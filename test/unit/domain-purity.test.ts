/**
 * Keeps src/domain pure: no frameworks, database, network or file I/O, no imports from outside
 * src/domain, no clock and no environment. Source is parsed with the TypeScript compiler rather
 * than grepped, so comments and strings that merely mention `Date.now()` do not count, and
 * `new Date(x)` (which is pure) is told apart from `new Date()`.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const DOMAIN_DIR = path.resolve(__dirname, '../../src/domain');

/** Packages the domain must not use: frameworks, the database, transports, logging and I/O. */
const FORBIDDEN_PACKAGES = [
  'typeorm',
  'pg',
  'graphql',
  'type-graphql',
  'ws',
  'graphql-ws',
  'express',
  'pino',
  'dataloader',
  '@apollo',
  '@electric-sql',
  'fs',
  'fs/promises',
  'net',
  'http',
  'https',
  'http2',
  'tls',
  'dgram',
  'child_process',
  'cluster',
  'worker_threads',
];

function isForbiddenPackage(specifier: string): boolean {
  const name = specifier.replace(/^node:/, '');
  return FORBIDDEN_PACKAGES.some((p) => name === p || name.startsWith(`${p}/`));
}

function listTsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return listTsFiles(full);
    return entry.isFile() && entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every way a file in src/domain can break purity, as `line: problem` strings. */
function purityViolations(fileName: string, source: string, domainDir = DOMAIN_DIR): string[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const problems: string[] = [];
  const report = (node: ts.Node, problem: string) => {
    const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    problems.push(`${path.relative(domainDir, fileName)}:${line + 1}: ${problem}`);
  };
  const checkSpecifier = (node: ts.Node, specifier: string) => {
    if (specifier.startsWith('.') || path.isAbsolute(specifier)) {
      const target = path.resolve(path.dirname(fileName), specifier);
      const relative = path.relative(domainDir, target);
      if (relative.startsWith('..') || path.isAbsolute(relative)) {
        report(node, `imports ${specifier}, outside src/domain`);
      }
    } else if (isForbiddenPackage(specifier)) {
      report(node, `imports ${specifier}`);
    }
  };
  const isIdentifier = (node: ts.Node, name: string) => ts.isIdentifier(node) && node.text === name;
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      checkSpecifier(node, node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expr = node.moduleReference.expression;
      if (ts.isStringLiteral(expr)) checkSpecifier(node, expr.text);
    } else if (ts.isCallExpression(node)) {
      const [first] = node.arguments;
      const isRequire = isIdentifier(node.expression, 'require');
      const isDynamicImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      if ((isRequire || isDynamicImport) && first !== undefined) {
        if (ts.isStringLiteralLike(first)) checkSpecifier(node, first.text);
        else report(node, 'loads a module by a computed name');
      }
      if (
        ts.isPropertyAccessExpression(node.expression) &&
        node.expression.name.text === 'now' &&
        (isIdentifier(node.expression.expression, 'Date') ||
          isIdentifier(node.expression.expression, 'performance'))
      ) {
        report(node, `reads the clock (${node.expression.getText(sf)}())`);
      }
    } else if (ts.isNewExpression(node) && isIdentifier(node.expression, 'Date')) {
      if (node.arguments === undefined || node.arguments.length === 0)
        report(node, 'reads the clock (new Date())');
    } else if (
      ts.isPropertyAccessExpression(node) &&
      node.name.text === 'env' &&
      isIdentifier(node.expression, 'process')
    ) {
      report(node, 'reads process.env');
    } else if (
      ts.isElementAccessExpression(node) &&
      isIdentifier(node.expression, 'process') &&
      ts.isStringLiteralLike(node.argumentExpression) &&
      node.argumentExpression.text === 'env'
    ) {
      report(node, 'reads process.env');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return problems;
}

describe('domain purity', () => {
  const files = listTsFiles(DOMAIN_DIR);

  it('finds the domain sources', () => {
    expect(files.map((f) => path.basename(f))).toEqual(expect.arrayContaining(['errors.ts', 'model.ts']));
  });

  it.each(files.map((f) => [path.relative(DOMAIN_DIR, f), f]))('%s is pure', (_name, file) => {
    expect(purityViolations(file, fs.readFileSync(file, 'utf8'))).toEqual([]);
  });

  describe('the checker itself', () => {
    const file = path.join(DOMAIN_DIR, 'engine', 'example.ts');
    const check = (source: string) => purityViolations(file, source);

    it.each([
      [`import { DataSource } from 'typeorm';`, 'imports typeorm'],
      [`import type { GraphQLError } from 'graphql';`, 'imports graphql'],
      [`import { Pool } from 'pg';`, 'imports pg'],
      [`import { Field } from 'type-graphql';`, 'imports type-graphql'],
      [`import { WebSocket } from 'ws';`, 'imports ws'],
      [`import { makeServer } from 'graphql-ws';`, 'imports graphql-ws'],
      [`import express from 'express';`, 'imports express'],
      [`import pino from 'pino';`, 'imports pino'],
      [`import { readFileSync } from 'node:fs';`, 'imports node:fs'],
      [`import { Device } from '../../entities/device';`, 'outside src/domain'],
      [`import { config } from '../../config';`, 'outside src/domain'],
      [`export { x } from '../../services/x';`, 'outside src/domain'],
      [`const pg = require('pg');`, 'imports pg'],
      [`const m = await import('typeorm');`, 'imports typeorm'],
      [`const t = Date.now();`, 'reads the clock'],
      [`const t = new Date();`, 'reads the clock'],
      [`const t = new Date;`, 'reads the clock'],
      [`const t = performance.now();`, 'reads the clock'],
      [`const url = process.env.DATABASE_URL;`, 'reads process.env'],
      [`const url = process['env'].DATABASE_URL;`, 'reads process.env'],
    ])('flags %s', (source, problem) => {
      const found = check(source);
      expect(found).toHaveLength(1);
      expect(found[0]).toContain(problem);
    });

    it.each([
      `import { InvalidInputError } from '../errors';`,
      `import type { SuppressionWindow } from '../suppression-window';`,
      `import { decide } from './decide';`,
      `const d = new Date(now.getTime() + 1000);`,
      `const d = new Date('2030-01-01T00:00:00Z');`,
      `// Never call Date.now() or new Date() here; read process.env elsewhere.`,
      `const note = 'Date.now() is forbidden';`,
      `const n = now.getTime();`,
    ])('allows %s', (source) => {
      expect(check(source)).toEqual([]);
    });
  });
});
