// Admin: group membership. Membership is by user name; removing a member also removes the group
// from that user's clients' listen-to lists.
import { createRoute, z } from '@hono/zod-openapi';
import { requireAdmin } from '../auth/auth.middleware.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Db } from '../db/database.ts';
import { bearer, createRouter, jsonResponse } from '../http/openapi.ts';
import { problemResponses } from '../http/problem.ts';
import { NameSchema } from '../addresses/address.ts';
import { deleteGroupMember, insertGroupMember, listGroupMembers } from './groups.repository.ts';

const MemberParams = z.object({
  group: NameSchema.openapi({ param: { name: 'group', in: 'path' }, example: 'eng' }),
  user: NameSchema.openapi({ param: { name: 'user', in: 'path' }, example: 'alice' }),
});
const GroupParams = MemberParams.pick({ group: true });
const MembersSchema = z.object({ group: z.string(), members: z.array(z.string()) }).openapi('GroupMembers');
const MembershipSchema = z.object({ group: z.string(), user: z.string(), changed: z.boolean() }).openapi('Membership');

export function groupsRoutes(auth: Authenticator, db: Db, onChange: (group: string) => void) {
  const app = createRouter();
  app.use('/admin/groups/*', requireAdmin(auth));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/admin/groups/{group}/members',
      tags: ['admin'],
      summary: 'List the members of a group',
      security: bearer,
      request: { params: GroupParams },
      responses: { 200: jsonResponse(MembersSchema, 'The members'), ...problemResponses(400, 401, 403) },
    }),
    async (c) => {
      const { group } = c.req.valid('param');
      return c.json({ group, members: await listGroupMembers(db, group) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/admin/groups/{group}/members/{user}',
      tags: ['admin'],
      summary: 'Add a user to a group',
      security: bearer,
      request: { params: MemberParams },
      responses: { 200: jsonResponse(MembershipSchema, 'Added (changed: false if already a member)'), ...problemResponses(400, 401, 403) },
    }),
    async (c) => {
      const { group, user } = c.req.valid('param');
      const changed = await insertGroupMember(db, group, user);
      onChange(group);
      return c.json({ group, user, changed }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/admin/groups/{group}/members/{user}',
      tags: ['admin'],
      summary: 'Remove a user from a group',
      security: bearer,
      request: { params: MemberParams },
      responses: { 200: jsonResponse(MembershipSchema, 'Removed (changed: false if not a member)'), ...problemResponses(400, 401, 403) },
    }),
    async (c) => {
      const { group, user } = c.req.valid('param');
      const changed = await db.transaction().execute((tx) => deleteGroupMember(tx, group, user));
      onChange(group);
      return c.json({ group, user, changed }, 200);
    },
  );

  return app;
}
