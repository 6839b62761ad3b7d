/**
 * A strict RFC 4180 CSV reader and writer for batch issuance. Fields may be quoted ("" escapes a
 * quote, quoted fields may hold commas and line breaks); CRLF or LF line ends; a UTF-8 BOM is
 * dropped. Anything else — a quote inside an unquoted field, text after a closing quote, an
 * unterminated quote, a row with the wrong number of fields — is a CsvError naming the line.
 */
export class CsvError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`CSV line ${line}: ${message}`);
  }
}

export const MAX_CSV_FIELD = 64 * 1024;
export const MAX_CSV_COLUMNS = 500;

export interface CsvRow {
  /** 1-based physical line where the record starts. */
  line: number;
  fields: string[];
}

/** Parses the whole text into records (header included). */
export function parseCsv(text: string): CsvRow[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: CsvRow[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let value = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) throw new CsvError('unterminated quoted field', start);
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          value += c;
          i++;
          if (value.length > MAX_CSV_FIELD) throw new CsvError(`field longer than ${MAX_CSV_FIELD} characters`, start);
        }
        if (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          throw new CsvError('text after a closing quote', line);
        }
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          if (text[i] === '"') throw new CsvError('a quote inside an unquoted field', line);
          if (text[i] === '\r') throw new CsvError('a bare carriage return', line);
          value += text[i];
          i++;
          if (value.length > MAX_CSV_FIELD) throw new CsvError(`field longer than ${MAX_CSV_FIELD} characters`, start);
        }
      }
      fields.push(value);
      if (fields.length > MAX_CSV_COLUMNS) throw new CsvError(`more than ${MAX_CSV_COLUMNS} columns`, start);
      if (i < n && text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '\r') i++;
      if (i < n && text[i] === '\n') {
        i++;
        line++;
      }
      break;
    }
    // A blank line (one empty field) is skipped.
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ line: start, fields });
  }
  if (rows.length > 0) {
    const width = rows[0].fields.length;
    for (const r of rows) if (r.fields.length !== width) throw new CsvError(`${r.fields.length} fields where the header has ${width}`, r.line);
  }
  return rows;
}

export function csvField(v: string | number | null | undefined): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(values: (string | number | null | undefined)[]): string {
  return values.map(csvField).join(',') + '\r\n';
}
