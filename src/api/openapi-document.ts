/**
 * OpenAPI 3.1 from the same zod schemas that validate requests: the API's
 * routes, and the inbound SCIM routes under /scim/v2 with their own security
 * scheme (a SCIM token of one source), media type and error schema.
 */
import { z } from 'zod';
import type { RouteDefinition } from './route-definition.ts';
import { SCIM_MEDIA_TYPE, SCIM_PREFIX, type ScimRouteDefinition } from './scim/scim-route-definition.ts';

type Json = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): Json {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete json.$schema;
  return json;
}

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const json = schemaOf(schema, 'input');
  const props = (json.properties ?? {}) as Record<string, Json>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => ({ name, in: where, required: where === 'path' || required.has(name), schema: s, ...(typeof s.description === 'string' ? { description: s.description } : {}) }));
}

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, requestId: { type: 'string' }, details: { type: 'object' } }, required: ['code', 'message', 'requestId'] } },
  required: ['error'],
};

/** RFC 7644 §3.12: what every SCIM refusal answers. */
const scimErrorSchema = {
  type: 'object',
  properties: {
    schemas: { type: 'array', items: { const: 'urn:ietf:params:scim:api:messages:2.0:Error' } },
    status: { type: 'string', description: 'the HTTP status, as a string' },
    scimType: { type: 'string', description: 'invalidFilter, invalidSyntax, invalidValue, invalidPath, uniqueness, tooMany, …' },
    detail: { type: 'string' },
    importId: { type: 'string', description: 'the hold, when the mass-change guard held the push' },
  },
  required: ['schemas', 'status'],
};

function operationId(method: string, path: string): string {
  return `${method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`;
}

/** The SCIM routes' operations: bearer SCIM token with the route's scope, SCIM's media type and error schema. */
function scimOperations(routes: readonly ScimRouteDefinition[], paths: Record<string, Record<string, Json>>): void {
  const media = (schema: Json) => ({ [SCIM_MEDIA_TYPE]: { schema }, 'application/json': { schema } });
  for (const route of routes) {
    const path = `${SCIM_PREFIX}${route.url.replace(/:([A-Za-z_]+)/g, '{$1}')}`;
    paths[path] ??= {};
    paths[path]![route.method.toLowerCase()] = {
      summary: route.summary,
      description: `Who may call it: a SCIM token (\`jml scim token create --source <source>\`) with ${route.scope === 'scim:read' ? 'scim:read or scim:write' : 'scim:write'}; the token decides the source. Console sessions and API tokens are refused.`,
      tags: ['inbound SCIM'],
      operationId: operationId(route.method, path),
      parameters: [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query')],
      ...(route.body ? { requestBody: { required: true, content: media(schemaOf(route.body, 'input')) } } : {}),
      responses: {
        [String(route.status)]: { description: 'success', ...(route.status === 204 ? {} : { content: media({ type: 'object' }) }) },
        default: { description: 'error (RFC 7644 §3.12)', content: media({ $ref: '#/components/schemas/ScimError' }) },
      },
      security: [{ scimToken: [route.scope] }],
    };
  }
}

/** Builds the document for the registered routes (and the SCIM provider's). */
export function openApiDocument(routes: readonly RouteDefinition[], version: string, scimRoutes: readonly ScimRouteDefinition[] = []): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const access = route.access === 'public' ? 'anyone' : route.access === 'signed_in' ? 'any signed-in user (scope rules apply)' : `roles: ${route.access.join(', ')}`;
    paths[path] ??= {};
    paths[path]![route.method.toLowerCase()] = {
      summary: route.summary,
      description: `Who may call it: ${access}.`,
      tags: [route.tag],
      operationId: operationId(route.method, path),
      parameters: [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query')],
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } } } : {}),
      responses: {
        [String(route.status ?? 200)]: { description: 'success', content: { 'application/json': { schema: schemaOf(route.response, 'output') } } },
        default: { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
      ...(route.access === 'public' ? { security: [] } : {}),
    };
  }
  scimOperations(scimRoutes, paths);
  return {
    openapi: '3.1.0',
    info: { title: 'jml API', version, description: 'Identity lifecycle engine: joiners, movers, leavers and access governance. Browser sessions send x-csrf-token on changes; automation uses Bearer API tokens.' },
    paths,
    components: {
      schemas: { Error: errorSchema, ScimError: scimErrorSchema },
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'jml_session' },
        token: { type: 'http', scheme: 'bearer' },
        scimToken: { type: 'http', scheme: 'bearer', description: 'Inbound SCIM (/scim/v2) only: a token of one scim source, scope scim:read or scim:write. Not accepted on /api/.' },
      },
    },
    security: [{ session: [] }, { token: [] }],
  };
}
