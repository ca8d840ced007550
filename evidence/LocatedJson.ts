/**
 * A strict JSON parser (RFC 8259) that remembers where every value sits in the text, so a
 * verifier can say which bytes a failing event, anchor or field occupies. It accepts exactly
 * what JSON.parse accepts and builds the same value (last duplicate key wins, `__proto__` is an
 * ordinary key); on bad input it reports the offset of the first character it cannot accept.
 *
 * Offsets inside this module are UTF-16 indices into the string; `position()` converts them to
 * UTF-8 byte offsets (what a hex editor shows) with line and column.
 */
export interface Span {
  /** UTF-16 index of the value's first character. */
  start: number;
  /** UTF-16 index just after the value. */
  end: number;
}

export interface TextPosition {
  /** UTF-8 byte offset from the start of the file. */
  byteOffset: number;
  /** 1-based line and column (column in characters). */
  line: number;
  column: number;
}

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    /** UTF-16 index of the first character that cannot be accepted. */
    readonly offset: number,
  ) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

export interface LocatedJsonOptions {
  /** Deepest nesting accepted (arrays and objects). */
  maxDepth: number;
}

export const defaultLocatedJsonOptions: LocatedJsonOptions = { maxDepth: 64 };

/** One JSON Pointer (RFC 6901) segment. */
export function pointerSegment(key: string | number): string {
  return String(key).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(...segments: (string | number)[]): string {
  return segments.map((s) => `/${pointerSegment(s)}`).join('');
}

export class LocatedJson {
  readonly text: string;
  readonly value: unknown;
  /** Span of every value by JSON Pointer ('' is the root). */
  readonly spans: ReadonlyMap<string, Span>;
  /** Span of the quoted property name of every object member, by the member value's pointer. */
  readonly keySpans: ReadonlyMap<string, Span>;
  #lineStarts: number[] | undefined;

  private constructor(text: string, value: unknown, spans: Map<string, Span>, keySpans: Map<string, Span>) {
    this.text = text;
    this.value = value;
    this.spans = spans;
    this.keySpans = keySpans;
  }

  /** Parses `text`; throws JsonSyntaxError with the offset of the problem. */
  static parse(text: string, options: Partial<LocatedJsonOptions> = {}): LocatedJson {
    const o = { ...defaultLocatedJsonOptions, ...options };
    const spans = new Map<string, Span>();
    const keySpans = new Map<string, Span>();
    let i = 0;
    const fail = (message: string, at = i): never => {
      throw new JsonSyntaxError(message, at);
    };
    const ws = (): void => {
      for (;;) {
        const c = text.charCodeAt(i);
        if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
        else return;
      }
    };
    const string = (): string => {
      const start = i;
      i++; // opening quote
      for (;;) {
        if (i >= text.length) fail('unterminated string');
        const c = text.charCodeAt(i);
        if (c === 0x22) break;
        if (c < 0x20) fail('control character in string');
        if (c === 0x5c) {
          const e = text[i + 1];
          if (e === 'u') {
            if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape', i + 1);
            i += 6;
          } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
          else fail('bad escape', i + 1);
          continue;
        }
        i++;
      }
      i++; // closing quote
      return JSON.parse(text.slice(start, i)) as string;
    };
    const value = (path: string, depth: number): unknown => {
      ws();
      const start = i;
      const c = text[i];
      let v: unknown;
      if (c === '{') {
        if (depth >= o.maxDepth) fail('nesting too deep');
        i++;
        const obj: Record<string, unknown> = {};
        ws();
        if (text[i] === '}') i++;
        else {
          for (;;) {
            ws();
            if (text[i] !== '"') fail('expected a property name');
            const keyStart = i;
            const key = string();
            const itemPath = `${path}/${pointerSegment(key)}`;
            keySpans.set(itemPath, { start: keyStart, end: i });
            ws();
            if (text[i] !== ':') fail("expected ':'");
            i++;
            const item = value(itemPath, depth + 1);
            Object.defineProperty(obj, key, { value: item, enumerable: true, writable: true, configurable: true });
            ws();
            if (text[i] === ',') {
              i++;
              continue;
            }
            if (text[i] === '}') {
              i++;
              break;
            }
            fail("expected ',' or '}'");
          }
        }
        v = obj;
      } else if (c === '[') {
        if (depth >= o.maxDepth) fail('nesting too deep');
        i++;
        const arr: unknown[] = [];
        ws();
        if (text[i] === ']') i++;
        else {
          for (;;) {
            arr.push(value(`${path}/${arr.length}`, depth + 1));
            ws();
            if (text[i] === ',') {
              i++;
              continue;
            }
            if (text[i] === ']') {
              i++;
              break;
            }
            fail("expected ',' or ']'");
          }
        }
        v = arr;
      } else if (c === '"') {
        v = string();
      } else if (c === 't' || c === 'f' || c === 'n') {
        const word = c === 't' ? 'true' : c === 'f' ? 'false' : 'null';
        for (let k = 0; k < word.length; k++) if (text[i + k] !== word[k]) fail('unexpected character', i + k);
        i += word.length;
        v = c === 't' ? true : c === 'f' ? false : null;
      } else {
        // Character by character, so a bad number fails at its first bad character.
        const digit = (): boolean => {
          const d = text.charCodeAt(i);
          return d >= 0x30 && d <= 0x39;
        };
        const digits = (): void => {
          if (!digit()) fail(i >= text.length ? 'unexpected end of input' : 'expected a digit');
          while (digit()) i++;
        };
        if (text[i] === '-') i++;
        if (text[i] === '0') i++;
        else if (digit()) digits();
        else fail(i >= text.length ? 'unexpected end of input' : 'unexpected character');
        if (text[i] === '.') {
          i++;
          digits();
        }
        if (text[i] === 'e' || text[i] === 'E') {
          i++;
          if (text[i] === '+' || text[i] === '-') i++;
          digits();
        }
        v = Number(text.slice(start, i));
      }
      spans.set(path, { start, end: i });
      return v;
    };
    const root = value('', 0);
    ws();
    if (i < text.length) fail('unexpected data after the JSON value');
    return new LocatedJson(text, root, spans, keySpans);
  }

  span(path: string): Span | undefined {
    return this.spans.get(path);
  }

  /** Byte offset, line and column of a UTF-16 index of this text. */
  position(offset: number): TextPosition {
    return positionIn(this.text, offset, (this.#lineStarts ??= lineStarts(this.text)));
  }
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0x0a) starts.push(i + 1);
  return starts;
}

/** Byte offset, line and column of a UTF-16 index into `text`. */
export function positionIn(text: string, offset: number, starts: number[] = lineStarts(text)): TextPosition {
  const at = Math.max(0, Math.min(offset, text.length));
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= at) lo = mid;
    else hi = mid - 1;
  }
  return { byteOffset: Buffer.byteLength(text.slice(0, at), 'utf8'), line: lo + 1, column: at - starts[lo]! + 1 };
}
