/**
 * Finds secrets in log lines: each secret whole and as every 16-character slice (8 apart), raw and URL-encoded,
 * so a secret that is cut, wrapped or escaped into a longer string is still found.
 */
function slices(secret: string): string[] {
  if (secret.length <= 16) return [secret];
  const out = [];
  for (let i = 0; i + 16 <= secret.length; i += 8) out.push(secret.slice(i, i + 16));
  return out;
}

/** One entry per (secret, line) found: the secret's name and the start of the line it was found in. */
export function findLeaks(lines: readonly unknown[], secrets: Readonly<Record<string, string>>): string[] {
  const leaks: string[] = [];
  for (const line of lines) {
    const text = JSON.stringify(line);
    for (const [name, secret] of Object.entries(secrets)) {
      if (slices(secret).some((s) => text.includes(s) || text.includes(encodeURIComponent(s))))
        leaks.push(`${name} in: ${text.slice(0, 200)}`);
    }
  }
  return leaks;
}
