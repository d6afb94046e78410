// Time as a parameter of statements (STYLE: time is a parameter): a statement that compares with
// or computes from "now" takes an optional injected clock, so tests move time instead of sleeping.
import { sql, type RawBuilder } from 'kysely';

/** The injected time when given, else the database's now() (the start of the transaction). */
export function sqlNow(now: Date | undefined): RawBuilder<Date> {
  return sql<Date>`coalesce(${now ?? null}::timestamptz, now())`;
}
