/**
 * What proves an asset came back: whoever recovers it names the serial they
 * saw on the device (so the register's item, not a look-alike, was returned)
 * and says how its data was wiped — a wipe certificate (its SHA-256) or a
 * note that says so.
 */

/** The problem with the evidence for a returned asset, or null when it proves the return. */
export function returnEvidenceProblem(asset: { readonly tag: string; readonly serial: string | null }, evidence: { readonly note?: string; readonly fileSha256?: string }): string | null {
  const note = evidence.note ?? '';
  const problems: string[] = [];
  if (asset.serial && !note.toLowerCase().includes(asset.serial.toLowerCase())) problems.push(`name the serial you saw on ${asset.tag} (${asset.serial}) in the note`);
  if (!evidence.fileSha256 && !/\bwip(e|ed|ing)\b/i.test(note)) problems.push('say how its data was wiped: the wipe certificate\'s hash, or a note that says "wiped"');
  return problems.length ? problems.join('; ') : null;
}
