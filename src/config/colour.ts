/**
 * The brand accent colour: strict parsing, WCAG 2.2 contrast, and the shades the stylesheet derives from it.
 * The accent is the background of primary buttons (white text) and the colour of links on white, so it must
 * reach 4.5:1 against white; in dark mode links and focus rings use a light tint of it.
 */
export const ACCENT_PATTERN = /^#[0-9a-fA-F]{6}$/;

/** The least contrast an accent must have with white (WCAG 2.2 1.4.3, normal text). */
export const MIN_ACCENT_CONTRAST = 4.5;

type Rgb = readonly [number, number, number];

function rgb(hex: string): Rgb {
  if (!ACCENT_PATTERN.test(hex)) throw new Error(`not a #rrggbb colour: ${hex}`);
  return [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)) as unknown as Rgb;
}

function hex(c: Rgb): string {
  return `#${c.map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;
}

/** Relative luminance (WCAG 2.2). */
function luminance(c: Rgb): number {
  const [r, g, b] = c.map((v) => {
    const s = v / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }) as unknown as Rgb;
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [luminance(rgb(a)), luminance(rgb(b))].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

function mix(c: Rgb, toward: Rgb, amount: number): Rgb {
  return c.map((v, i) => v + ((toward[i] as number) - v) * amount) as unknown as Rgb;
}

interface AccentShades {
  accent: string;
  /** Hovered primary button: darker. */
  hover: string;
  /** Links and focus rings on the dark-mode card: a light tint, at least 4.5:1 on it. */
  onDark: string;
}

export function accentShades(accent: string): AccentShades {
  const c = rgb(accent);
  return {
    accent: accent.toLowerCase(),
    hover: hex(mix(c, [0, 0, 0], 0.15)),
    onDark: hex(mix(c, [255, 255, 255], 0.65)),
  };
}
