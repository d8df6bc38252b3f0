import { GraphQLScalarType, Kind } from 'graphql';
import type { ValueNode } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { parseEui64, parseMpan } from '../domain/identifiers';

function literalString(ast: ValueNode, scalar: string): string {
  if (ast.kind !== Kind.STRING) throw new TypeError(`${scalar} must be a string`);
  return ast.value;
}

/** EUI-64 device or party ID, normalised to upper-case hyphenated octets. */
export const EUI64Scalar = new GraphQLScalarType<string, string>({
  name: 'EUI64',
  description:
    'EUI-64 identifier as 8 hyphen-separated hex octets, e.g. 00-DB-12-34-56-78-90-A0 (case-insensitive in, upper case out).',
  serialize: (value) => String(value),
  parseValue: (value) => parseEui64(value),
  parseLiteral: (ast) => parseEui64(literalString(ast, 'EUI64')),
});

/** 13-digit MPAN core with a valid check digit. */
export const MPANScalar = new GraphQLScalarType<string, string>({
  name: 'MPAN',
  description:
    '13-digit MPAN core (distributor ID, unique ID, check digit); the check digit is verified on input.',
  serialize: (value) => String(value),
  parseValue: (value) => parseMpan(value),
  parseLiteral: (ast) => parseMpan(literalString(ast, 'MPAN')),
});

export const DateTimeScalar = DateTimeResolver;
