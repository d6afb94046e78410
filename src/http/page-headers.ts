// Headers for the HTML pages this service serves (/docs, /dashboard). No other site may frame
// them, so none can lay its own page over theirs and trick a click (the dashboard's redrive button,
// the docs page's "Try it out" with a token typed in): CSP frame-ancestors for today's browsers,
// X-Frame-Options for those that predate it.
export const NO_FRAMING_CSP = "frame-ancestors 'none'";

export const PAGE_SAFETY_HEADERS = {
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
} as const;
