// What `switchyard stats` shows: the queues, the stages, the deepest queues, the last minutes of
// traffic and the scaling signal, as lines of text. Pure, so the live view and --once print the
// same thing and tests read it without a terminal.
import type { OpsSnapshot } from '../ops/ops-snapshot.ts';
import type { RoleRecommendation } from '../ops/scaling.ts';
import type { TrafficMinute } from '../ops/stats.repository.ts';
import { formatAge, formatCount, formatTable } from './text-table.ts';

export interface StatsView {
  snapshot: OpsSnapshot;
  recommendations: RoleRecommendation[];
  traffic: TrafficMinute[];
}

export function renderStats({ snapshot: s, recommendations, traffic }: StatsView): string[] {
  const at = s.takenAt.getTime();
  const age = (d: Date | null) => (d ? formatAge(Math.max(0, (at - d.getTime()) / 1000)) : '-');
  const q = s.queues;
  const needed = new Map(recommendations.map((r) => [r.role as string, r.recommended]));
  const reasons = Object.entries(s.deadLetters.by_reason).map(([reason, n]) => `${reason} ${formatCount(n)}`).join(', ');
  const lines = [
    `Switchyard at ${s.takenAt.toISOString()}`,
    '',
    `Queues        ${formatCount(q.queues)} holding messages: ${formatCount(q.visible)} visible, ${formatCount(q.in_flight)} in flight, `
      + `${formatCount(q.delayed)} delayed; oldest ${age(q.oldest_enqueued_at)}; `
      + (q.counted_at ? `counted ${age(q.counted_at)} ago` : 'not counted yet (the upkeep role counts them)'),
    `Dead letters  ${formatCount(s.deadLetters.client_dead_letters)}${reasons ? ` (${reasons})` : ''}; `
      + `stage dead letters ${formatCount(s.deadLetters.stage_dead_letters)}`,
    '',
    ...formatTable(['STAGE', 'LAG', 'ROWS BEHIND', 'RETRYING', 'DEAD', 'WORKERS NEEDED'], s.stages.map((st) => [
      st.stage, formatAge(st.lagSeconds), `${formatCount(st.rowsBehind)}${st.rowsCapped ? '+' : ''}`, formatCount(st.retrying),
      formatCount(st.deadLetters), String(needed.get(st.stage) ?? '-'),
    ])),
    '',
    `Workers needed  ${recommendations.map((r) => `${r.role} ${r.recommended}`).join('  ')}`,
    '',
  ];
  if (s.topQueues.length === 0) {
    lines.push('Deepest queues  none: every queue is empty');
  } else {
    lines.push('Deepest queues', ...formatTable(['CLIENT', 'ID', 'DEPTH', 'VISIBLE', 'IN FLIGHT', 'DELAYED', 'OLDEST', 'DEAD'], s.topQueues.map((t) => [
      t.client_name, t.client_id, formatCount(t.depth), formatCount(t.visible), formatCount(t.in_flight), formatCount(t.delayed),
      age(t.oldest_enqueued_at), formatCount(t.dead_letters),
    ])));
  }
  lines.push('');
  if (traffic.length === 0) {
    lines.push('Traffic  nothing in the last minutes');
  } else {
    lines.push('Traffic per minute', ...formatTable(['MINUTE', 'PUBLISHED', 'DELIVERED', 'EXPIRED', 'DEAD-LETTERED'], traffic.map((m) => [
      m.minute.toISOString().slice(11, 16), formatCount(m.published), formatCount(m.delivered), formatCount(m.expired), formatCount(m.dead_lettered),
    ])));
  }
  return lines;
}
