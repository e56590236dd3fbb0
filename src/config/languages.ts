/**
 * The languages Gatehouse ships, each with its message catalogue in views/i18n/<language>.json (src/web/i18n.ts
 * reads them). The first is the fallback for a key a page asks for that no catalogue has.
 */
export const LANGUAGES = ['en', 'de'] as const;
export type Language = (typeof LANGUAGES)[number];
