// A bearer secret from the environment must be long enough and not a placeholder anyone can know.
import { z } from 'zod';

/**
 * Tokens anyone can know: examples published with Switchyard (the compose file's old default among
 * them). They pass the length check, so without this list a copied example becomes a real password.
 */
export const PUBLISHED_PLACEHOLDER_TOKENS: readonly string[] = ['change-me-to-a-secret-of-32-characters-or-more'];
/** Words a token starts with when it asks to be replaced (compared without case or punctuation). */
const PLACEHOLDER_PREFIXES = ['changeme', 'changethis', 'replaceme', 'replacethis', 'yoursecret', 'yourtoken', 'youradmintoken', 'placeholder', 'insertsecret'];
/** A token of so few distinct characters (xxxx..., 0000...) is typed, not generated. */
const PLACEHOLDER_MAX_DISTINCT_CHARACTERS = 4;

export function isPlaceholderToken(token: string): boolean {
  const words = token.toLowerCase().replace(/[^a-z0-9]/g, '');
  return PUBLISHED_PLACEHOLDER_TOKENS.includes(token)
    || PLACEHOLDER_PREFIXES.some((prefix) => words.startsWith(prefix))
    || new Set(token).size <= PLACEHOLDER_MAX_DISTINCT_CHARACTERS;
}

/** A bearer secret from the environment: long enough, and not a placeholder. The value is never echoed. */
export const secretToken = z
  .string()
  .min(32, 'must be at least 32 characters')
  .refine((token) => !isPlaceholderToken(token), 'is a placeholder that anyone can know: set a secret of your own, e.g. from `openssl rand -hex 32`');
