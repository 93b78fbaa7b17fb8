import { errors } from './errors.js';

/**
 * How deep a JSON text may nest objects and arrays. Graph's bodies nest a few levels; the validator
 * and everything after it walk values recursively, and a body nested some thousands of levels
 * overflowed the stack there (a 500).
 */
export const MAX_JSON_DEPTH = 64;

const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Parses a JSON text (a request body, a `$batch` item's body given as a string) once its nesting is
 * known to be within MAX_JSON_DEPTH: one loop over the text, no recursion. Malformed JSON is 400.
 */
export function parseJson(text: string): unknown {
  // A text shorter than the limit cannot nest deeper than it.
  if (text.length > MAX_JSON_DEPTH) checkDepth(text);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw errors.unreadableBody((err as Error).message);
  }
}

function checkDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > MAX_JSON_DEPTH) {
        throw errors.unreadableBody(`The JSON nesting depth exceeds the limit of ${MAX_JSON_DEPTH} levels.`);
      }
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
    }
  }
}
