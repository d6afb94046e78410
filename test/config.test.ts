// Configuration refuses secrets that anyone can know: published placeholders pass the length check,
// so they are refused by name, naming the variable and never echoing the value.
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, PUBLISHED_PLACEHOLDER_TOKENS } from '../src/config.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('placeholder tokens', () => {
  const placeholders = [
    ...PUBLISHED_PLACEHOLDER_TOKENS,
    'CHANGE_ME_please-use-a-real-secret-here-0123',
    'changeme-changeme-changeme-changeme',
    'replace-me-with-32-or-more-characters!!',
    'your-admin-token-goes-here-at-least-32-chars',
    'x'.repeat(40),
    '0'.repeat(64),
    'abab'.repeat(10),
  ];

  test.each(placeholders)('SWITCHYARD_ADMIN_TOKEN %s is refused, naming the variable and not the value', (token) => {
    const problems = problemsOf({ SWITCHYARD_ADMIN_TOKEN: token });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^SWITCHYARD_ADMIN_TOKEN: is a placeholder/);
    expect(problems.join('\n')).not.toContain(token);
  });

  test('SWITCHYARD_METRICS_TOKEN refuses the same placeholders', () => {
    expect(problemsOf({ SWITCHYARD_METRICS_TOKEN: PUBLISHED_PLACEHOLDER_TOKENS[0]! })).toEqual([
      expect.stringMatching(/^SWITCHYARD_METRICS_TOKEN: is a placeholder/),
    ]);
  });

  test('generated tokens and tokens that merely mention a word are accepted', () => {
    for (const token of [randomBytes(32).toString('hex'), randomBytes(24).toString('base64url'), 'ops-team-token-4f1c9e2ab7d05e38c61f']) {
      expect(loadConfig({ SWITCHYARD_ADMIN_TOKEN: token }).adminToken).toBe(token);
    }
  });

  test('a short token is still refused for its length, at 31 characters, and accepted at 32', () => {
    const secret = randomBytes(32).toString('hex');
    expect(problemsOf({ SWITCHYARD_ADMIN_TOKEN: secret.slice(0, 31) })).toEqual(['SWITCHYARD_ADMIN_TOKEN: must be at least 32 characters']);
    expect(loadConfig({ SWITCHYARD_ADMIN_TOKEN: secret.slice(0, 32) }).adminToken).toBe(secret.slice(0, 32));
  });
});
