/**
 * A check of the entries of a tar archive before anything unpacks it. A
 * backup's checksum proves the file is the one its manifest describes, not
 * that whoever wrote the manifest is trusted; so before PGlite unpacks
 * `pgdata.tar` into a data directory, every entry must be a plain file or a
 * directory whose name stays inside that directory. Links, devices and names
 * with a `..` segment are refused. PGlite writes names with a leading `/` and
 * joins them to the data directory (`/global/1213` is `<data>/global/1213`),
 * so a leading `/` is read as relative, as PGlite reads it.
 *
 * Reads the POSIX ustar header layout (name 0–99, size 124–135 in octal,
 * type 156, ustar prefix 345–499) and GNU/PAX long-name records.
 */

const BLOCK = 512;
const decoder = new TextDecoder();

/** One entry as the archive names it. */
export interface TarEntry {
  readonly name: string;
  readonly type: 'file' | 'directory';
}

function text(block: Uint8Array, start: number, length: number): string {
  const slice = block.subarray(start, start + length);
  const end = slice.indexOf(0);
  return decoder.decode(end === -1 ? slice : slice.subarray(0, end));
}

function octal(block: Uint8Array, start: number, length: number): number {
  const digits = text(block, start, length).trim();
  if (!/^[0-7]*$/.test(digits)) throw new Error(`a header has a size that is not octal: ${JSON.stringify(digits)}`);
  return digits === '' ? 0 : Number.parseInt(digits, 8);
}

function unsafeName(name: string): string | null {
  if (name === '') return 'an empty name';
  if (/^[A-Za-z]:/.test(name)) return 'a drive letter in its name';
  if (name.includes('\\')) return 'a backslash in its name';
  if (name.split('/').some((part) => part === '..')) return 'a ".." in its name';
  return null;
}

function paxPath(data: Uint8Array): string | null {
  // Records are "<length> <key>=<value>\n".
  for (const record of decoder.decode(data).split('\n')) {
    const match = /^\d+ path=(.*)$/s.exec(record);
    if (match) return match[1]!;
  }
  return null;
}

/**
 * Lists the entries of an uncompressed tar archive, refusing (with a message
 * naming the entry) anything other than plain files and directories that stay inside the directory it is unpacked into.
 * @example listSafeTarEntries(bytes) // [{ name: 'PG_VERSION', type: 'file' }, …]
 */
export function listSafeTarEntries(archive: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | null = null;
  while (offset + BLOCK <= archive.byteLength) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156]!);
    const dataStart = offset + BLOCK;
    if (dataStart + size > archive.byteLength) throw new Error(`entry ${JSON.stringify(text(header, 0, 100))} runs past the end of the archive`);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    const data = archive.subarray(dataStart, dataStart + size);
    if (type === 'L') { longName = text(data, 0, size); continue; }
    if (type === 'x') { longName = paxPath(data) ?? longName; continue; }
    if (type === 'g') continue;
    const prefix = text(header, 257, 6).startsWith('ustar') ? text(header, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    longName = null;
    const kind = type === '0' || type === '\0' || type === '7' ? 'file' : type === '5' ? 'directory' : null;
    if (kind === null) throw new Error(`entry ${JSON.stringify(name)} is not a plain file or directory (tar type ${JSON.stringify(type)})`);
    const relative = name.replace(/^(\.?\/)+/, '');
    if (kind === 'directory' && (relative === '' || relative === '.')) continue;
    const problem = unsafeName(relative);
    if (problem) throw new Error(`entry ${JSON.stringify(name)} has ${problem}`);
    entries.push({ name, type: kind });
  }
  return entries;
}
