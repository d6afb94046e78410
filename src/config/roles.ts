// The roles a process can run and the stages among them (`serve --roles`, SWITCHYARD_ROLES).
export const ROLES = ['router', 'routing', 'persistence', 'analytics', 'push', 'upkeep'] as const;
export type Role = (typeof ROLES)[number];
export const STAGES: readonly string[] = ['routing', 'persistence', 'analytics'];
