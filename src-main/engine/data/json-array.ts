/**
 * Splitting a JSON array document into its top-level elements, each with the
 * line it starts on, so that every bad element can be reported on its own line
 * (JSON.parse of the whole text would stop at the first problem and give only
 * a character offset). Each element's text is left for JSON.parse.
 */

export interface JsonArrayElement {
  text: string;
  /** 1-based line of the element's first character. */
  line: number;
}

export interface JsonArrayScan {
  elements: JsonArrayElement[];
  /** Problems with the array itself (not with the elements' contents). */
  problems: { line: number; problem: string }[];
}

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

export function scanJsonArray(text: string): JsonArrayScan {
  const elements: JsonArrayElement[] = [];
  const problems: { line: number; problem: string }[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;

  const skipWs = (): void => {
    while (i < n && isWs(text.charCodeAt(i))) {
      if (text.charCodeAt(i) === 10) line++;
      i++;
    }
  };

  skipWs();
  if (text[i] !== '[') {
    problems.push({
      line,
      problem: 'a JSON dataset file must hold one array of objects ([{...}, {...}]); for one object per line, use JSONL',
    });
    return { elements, problems };
  }
  i++;
  skipWs();
  if (text[i] === ']') {
    i++;
  } else {
    for (;;) {
      skipWs();
      const start = i;
      const startLine = line;
      let depth = 0;
      let inString = false;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c === 10) line++;
        if (inString) {
          if (c === 92) {
            i++; // skip the escaped character
            if (text.charCodeAt(i) === 10) line++;
          } else if (c === 34) inString = false;
          continue;
        }
        if (c === 34) inString = true;
        else if (c === 123 || c === 91) depth++;
        else if (c === 125 || c === 93) {
          if (depth === 0) break;
          depth--;
        } else if (c === 44 && depth === 0) break;
      }
      const body = text.slice(start, i).trim();
      if (i >= n) {
        problems.push({ line: startLine, problem: 'the JSON array is never closed (a missing "]", or an unclosed string or object from here)' });
        return { elements, problems };
      }
      if (body === '') problems.push({ line: startLine, problem: 'an empty array element (two commas in a row, or a comma before "]")' });
      else elements.push({ text: body, line: startLine });
      const stop = text[i];
      i++;
      if (stop === ']') break;
      if (stop === '}') {
        problems.push({ line, problem: 'an unmatched "}" in the array' });
        return { elements, problems };
      }
    }
  }
  skipWs();
  if (i < n) problems.push({ line, problem: 'text after the end of the JSON array' });
  return { elements, problems };
}
