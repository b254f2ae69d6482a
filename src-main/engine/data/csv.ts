/**
 * A CSV record parser fed one physical line at a time (RFC 4180 with the usual
 * tolerances), so that every record knows the line it starts on and the file
 * never has to be held whole.
 *
 *   - Fields are separated by commas; records by line ends ("\n" or "\r\n").
 *   - A field that starts with a double quote is quoted: it runs to the next
 *     lone quote and may hold commas and line ends; "" inside it is one quote.
 *     A line end inside a quoted field reads as "\n".
 *   - A quote inside an unquoted field is kept as a literal character.
 *   - Text between a closing quote and the next comma is kept, and the record
 *     is flagged ("text after a closing quote").
 *   - Blank lines between records are skipped.
 *   - A quoted field still open at the end of the file flags its record.
 */

export interface CsvRecord {
  fields: string[];
  /** The physical line (1-based) the record starts on. */
  line: number;
  /** Set when the record is malformed. */
  problem?: string;
}

const QUOTE = 34;

type State = 'start' | 'quoted' | 'after-quote';

export class CsvLineParser {
  private fields: string[] = [];
  private field = '';
  private state: State = 'start';
  private active = false;
  private startLine = 0;
  private problem: string | undefined;

  /** `onRecord` returns false to ask the caller to stop. */
  constructor(private readonly onRecord: (record: CsvRecord) => boolean | void) {}

  /** True while a quoted field is open across lines. */
  get inRecord(): boolean {
    return this.active;
  }

  /** Feeds one physical line (without its line end). Returns false when onRecord asked to stop. */
  pushLine(text: string, line: number): boolean {
    if (!this.active) {
      if (text.trim() === '') return true;
      this.active = true;
      this.startLine = line;
      this.fields = [];
      this.field = '';
      this.state = 'start';
      this.problem = undefined;
    }
    const n = text.length;
    let i = 0;
    for (;;) {
      if (this.state === 'quoted') {
        const q = text.indexOf('"', i);
        if (q === -1) {
          // The quoted field goes on past this line.
          this.field += text.slice(i) + '\n';
          return true;
        }
        this.field += text.slice(i, q);
        if (text.charCodeAt(q + 1) === QUOTE) {
          this.field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          this.state = 'after-quote';
        }
      } else if (this.state === 'after-quote') {
        if (i >= n) return this.endRecord();
        if (text[i] === ',') {
          this.fields.push(this.field);
          this.field = '';
          this.state = 'start';
          i++;
          continue;
        }
        this.problem ??= `text after a closing quote in field ${this.fields.length + 1}`;
        const c = text.indexOf(',', i);
        this.field += text.slice(i, c === -1 ? n : c);
        if (c === -1) return this.endRecord();
        this.fields.push(this.field);
        this.field = '';
        this.state = 'start';
        i = c + 1;
      } else {
        // At the start of a field.
        if (i < n && text.charCodeAt(i) === QUOTE) {
          this.state = 'quoted';
          i++;
          continue;
        }
        const c = text.indexOf(',', i);
        if (c === -1) {
          this.field = text.slice(i);
          return this.endRecord();
        }
        this.fields.push(text.slice(i, c));
        i = c + 1;
      }
    }
  }

  /** Call at the end of the input. Returns false when onRecord asked to stop. */
  end(): boolean {
    if (!this.active) return true;
    if (this.state === 'quoted') {
      this.problem ??= `a quoted field opened on line ${this.startLine} is never closed (missing closing quote)`;
    }
    return this.endRecord();
  }

  private endRecord(): boolean {
    this.fields.push(this.field);
    const record: CsvRecord = { fields: this.fields, line: this.startLine };
    if (this.problem !== undefined) record.problem = this.problem;
    this.active = false;
    this.fields = [];
    this.field = '';
    this.state = 'start';
    this.problem = undefined;
    return this.onRecord(record) !== false;
  }
}
