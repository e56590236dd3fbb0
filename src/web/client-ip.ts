/**
 * The key under which a client address is counted by the throttles and rate limits.
 *
 * Rules:
 * - IPv4 addresses count alone; an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket reports)
 *   counts as the IPv4 address it carries.
 * - IPv6 addresses count by their /64: one subscriber is routinely given a whole /64, so counting single addresses
 *   would hand an attacker 2^64 fresh allowances.
 * - Anything else (not an IP address) is counted as given, cut to 64 characters.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The eight 16-bit groups of an IPv6 address (zone id dropped), or undefined when it is not one. */
function groups(ip: string): number[] | undefined {
  const zone = ip.indexOf('%');
  let text = zone < 0 ? ip : ip.slice(0, zone);
  if (!isIPv6(text)) return undefined;
  // A trailing dotted quad (::ffff:192.0.2.1) is two groups.
  text = text.replace(
    /(\d+)\.(\d+)\.(\d+)\.(\d+)$/,
    (_m, a, b, c, d) => `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`,
  );
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => Number.parseInt(h, 16)));
  const gap = text.indexOf('::');
  if (gap < 0) return parse(text);
  const head = parse(text.slice(0, gap));
  const tail = parse(text.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

export function addressKey(ip: string): string {
  if (isIPv4(ip)) return ip;
  const g = groups(ip);
  if (g?.length !== 8) return ip.slice(0, 64);
  const isMapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  if (isMapped)
    return [(g[6] as number) >> 8, (g[6] as number) & 255, (g[7] as number) >> 8, (g[7] as number) & 255].join('.');
  return `${g
    .slice(0, 4)
    .map((x) => x.toString(16))
    .join(':')}::/64`;
}
