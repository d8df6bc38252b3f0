import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { InvalidInputError } from '../domain/errors';

/**
 * A small, hardened XML reader for DUIS and MMC documents, on fast-xml-parser.
 *
 * - Bytes must be UTF-8 (DUIS is UTF-8; libxml2 behind the XSD check reads only UTF-8).
 * - A DOCTYPE is refused outright, so no internal or external entity can ever be declared:
 *   XXE and entity expansion ("billion laughs") are impossible, not merely limited. Entity
 *   processing in the parser is off; the five predefined entities and character references are
 *   decoded here, and any other entity reference makes the document not well-formed.
 * - Namespaces are resolved (prefixes and default namespace, scoped per element), so callers
 *   match on (namespace URI, local name) and never on a prefix the sender happened to choose.
 */

/** An element with its namespace resolved. `text` is the trimmed character content. */
export interface XmlElement {
  readonly ns: string | null;
  readonly local: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  readonly text: string;
}

/** Why a body is not a usable XML document; `reason` is stable, the message is for people. */
export class XmlDocumentError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'XmlDocumentError';
  }
}

const XMLNS = 'http://www.w3.org/2000/xmlns/';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const TEXT = '#text';
const CDATA = '#cdata';
const ATTRS = ':@';

/** DUIS documents nest about 12 levels; anything near this is not one. */
export const MAX_XML_DEPTH = 100;

const parser = new XMLParser({
  preserveOrder: true,
  maxNestedTags: MAX_XML_DEPTH,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  htmlEntities: false,
  cdataPropName: CDATA,
  commentPropName: false,
  ignoreDeclaration: false,
  ignorePiTags: false,
});

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Decodes UTF-8 strictly: invalid byte sequences are an error, never U+FFFD. */
export function decodeUtf8(body: Uint8Array): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new XmlDocumentError('INVALID_ENCODING', 'the body is not valid UTF-8');
  }
}

/** Parses a UTF-8 XML document into a namespace-resolved element tree, or throws XmlDocumentError. */
export function parseXml(body: Uint8Array | string): XmlElement {
  const text = typeof body === 'string' ? body : decodeUtf8(body);
  if (text.trim() === '') throw new XmlDocumentError('EMPTY_DOCUMENT', 'the body is empty');
  // Refused on sight, wherever it appears: no DTD means no entity can be declared or expanded.
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text)) {
    throw new XmlDocumentError(
      'DOCTYPE_NOT_ALLOWED',
      'DOCTYPE and entity declarations are not allowed in DUIS documents',
    );
  }
  const checked = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (checked !== true) {
    throw new XmlDocumentError('NOT_WELL_FORMED', `the body is not well-formed XML: ${checked.err.msg}`, {
      line: checked.err.line,
      column: checked.err.col,
    });
  }
  const undeclared = /&(?!(?:lt|gt|amp|apos|quot|#[0-9]+|#x[0-9a-fA-F]+);)([^;\s<]{0,40};?)/.exec(
    text.replace(/<!--[\s\S]*?-->/g, '').replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, ''),
  );
  if (undeclared) {
    throw new XmlDocumentError(
      'NOT_WELL_FORMED',
      `the body is not well-formed XML: undeclared entity or bare '&' near "&${undeclared[1]}"`,
    );
  }

  let nodes: Node[];
  try {
    nodes = parser.parse(text) as Node[];
  } catch (error) {
    if (error instanceof Error && /nested tags/i.test(error.message)) {
      throw new XmlDocumentError('TOO_DEEP', `elements are nested more than ${MAX_XML_DEPTH} levels deep`, {
        limit: MAX_XML_DEPTH,
      });
    }
    throw new XmlDocumentError('NOT_WELL_FORMED', 'the body is not well-formed XML');
  }
  let root: Node | undefined;
  for (const node of nodes) {
    const name = nodeName(node);
    if (name === TEXT) {
      if (String(node[TEXT]).trim() !== '') notWellFormed('text outside the root element');
    } else if (name === '?xml') {
      const encoding = attributesOf(node).encoding;
      if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) {
        throw new XmlDocumentError(
          'INVALID_ENCODING',
          `the document declares encoding "${encoding}"; only UTF-8 is accepted`,
        );
      }
    } else if (name.startsWith('?')) {
      continue; // processing instructions carry nothing we read
    } else if (name === CDATA) {
      notWellFormed('CDATA outside the root element');
    } else if (root) {
      notWellFormed('more than one root element');
    } else {
      root = node;
    }
  }
  if (!root) notWellFormed('no root element');
  return resolve(root!, new Map([['xml', XML_NS]]));
}

type Node = Record<string, unknown>;

function nodeName(node: Node): string {
  const name = Object.keys(node).find((k) => k !== ATTRS);
  if (name === undefined) notWellFormed('an empty node');
  return name!;
}

function attributesOf(node: Node): Record<string, string> {
  return (node[ATTRS] as Record<string, string> | undefined) ?? {};
}

function notWellFormed(why: string): never {
  throw new XmlDocumentError('NOT_WELL_FORMED', `the body is not well-formed XML: ${why}`);
}

function resolve(node: Node, inherited: ReadonlyMap<string, string>): XmlElement {
  const qname = nodeName(node);
  const raw = attributesOf(node);
  const scope = new Map(inherited);
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    const decoded = decodeEntities(value);
    if (name === 'xmlns') scope.set('', decoded);
    else if (name.startsWith('xmlns:')) {
      const prefix = name.slice(6);
      if (prefix === 'xml' || prefix === 'xmlns' || decoded === XMLNS || decoded === '') {
        notWellFormed(`namespace declaration ${name}="${decoded}" is not allowed`);
      }
      scope.set(prefix, decoded);
    } else attributes[name] = decoded;
  }
  for (const name of Object.keys(attributes)) {
    const colon = name.indexOf(':');
    if (colon > 0 && !scope.has(name.slice(0, colon))) {
      notWellFormed(`attribute ${name} uses an undeclared namespace prefix`);
    }
  }
  const colon = qname.indexOf(':');
  const prefix = colon > 0 ? qname.slice(0, colon) : '';
  const local = colon > 0 ? qname.slice(colon + 1) : qname;
  if (prefix && !scope.has(prefix)) notWellFormed(`element ${qname} uses an undeclared namespace prefix`);
  const ns = scope.get(prefix) || null;

  const children: XmlElement[] = [];
  let text = '';
  for (const child of (node[qname] as Node[] | undefined) ?? []) {
    const name = nodeName(child);
    if (name === TEXT) text += decodeEntities(String(child[TEXT]));
    else if (name === CDATA) {
      for (const part of (child[CDATA] as Node[] | undefined) ?? []) text += String(part[TEXT] ?? '');
    } else if (!name.startsWith('?')) children.push(resolve(child, scope));
  }
  return { ns, local, attributes, children, text: text.trim() };
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

/** The five predefined entities and character references, in one pass (so `&amp;#65;` stays `&#65;`). */
function decodeEntities(value: string): string {
  return value.replace(/&(lt|gt|amp|apos|quot|#[0-9]+|#x[0-9a-fA-F]+);/g, (_m, ref: string) => {
    if (!ref.startsWith('#')) return PREDEFINED[ref];
    const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    const legal =
      code === 0x9 ||
      code === 0xa ||
      code === 0xd ||
      (code >= 0x20 && code <= 0xd7ff) ||
      (code >= 0xe000 && code <= 0xfffd) ||
      (code >= 0x10000 && code <= 0x10ffff);
    if (!legal) notWellFormed(`character reference &${ref}; is not a legal XML character`);
    return String.fromCodePoint(code);
  });
}

/** The children of `parent` named (ns, local). */
export function childrenNamed(parent: XmlElement, ns: string, local: string): XmlElement[] {
  return parent.children.filter((c) => c.ns === ns && c.local === local);
}

/**
 * The one child named (ns, local), or undefined. Two are refused (BAD_USER_INPUT
 * DUPLICATE_ELEMENT): with XSD validation off, a document with two RequestIDs or two
 * ExecutionDateTimes would otherwise be read by its first, while another reader (an XSD-validating
 * gateway, the DSP) reads it differently or refuses it. Repeated elements are read with childrenNamed.
 */
export function child(parent: XmlElement | undefined, ns: string, local: string): XmlElement | undefined {
  const found = parent?.children.filter((c) => c.ns === ns && c.local === local) ?? [];
  if (found.length > 1) {
    throw new InvalidInputError(
      'DUPLICATE_ELEMENT',
      `${parent!.local} has ${found.length} ${local} elements; it may have one`,
      `${parent!.local}/${local}`,
    );
  }
  return found[0];
}

/** Follows a path of local names in one namespace; undefined when any step is missing. */
export function path(
  parent: XmlElement | undefined,
  ns: string,
  ...locals: string[]
): XmlElement | undefined {
  let current = parent;
  for (const local of locals) current = child(current, ns, local);
  return current;
}

/** The text of the element at the path, or undefined when it is missing or empty. */
export function textAt(parent: XmlElement | undefined, ns: string, ...locals: string[]): string | undefined {
  const el = path(parent, ns, ...locals);
  return el && el.text !== '' ? el.text : undefined;
}
