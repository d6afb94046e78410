// GET /docs: Swagger UI over /openapi.json, served from the swagger-ui-dist package in
// node_modules. Nothing is fetched from a CDN, at run time or ever: production may have no
// internet, and a page that pulls scripts from elsewhere runs whatever elsewhere serves. The
// validator badge, which would send the document to validator.swagger.io, is off. The page and
// its start-up script are separate files so the Content-Security-Policy can allow scripts from
// this origin only.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createRoute, z } from '@hono/zod-openapi';
import { createRouter } from '../http/openapi.ts';
import { NO_FRAMING_CSP, PAGE_SAFETY_HEADERS } from '../http/page-headers.ts';
import { ApiError, problemResponses } from '../http/problem.ts';

const SWAGGER_UI_DIR = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

// Relative URLs, so the page also works behind a proxy that mounts the service under a prefix.
const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Switchyard API</title>
  <link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/docs.js"></script>
</body>
</html>
`;

const START = `window.ui = SwaggerUIBundle({
  url: 'openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

const ASSETS = {
  'swagger-ui.css': { type: 'text/css; charset=utf-8', load: () => readFile(path.join(SWAGGER_UI_DIR, 'swagger-ui.css')) },
  'swagger-ui-bundle.js': { type: 'text/javascript; charset=utf-8', load: () => readFile(path.join(SWAGGER_UI_DIR, 'swagger-ui-bundle.js')) },
  'docs.js': { type: 'text/javascript; charset=utf-8', load: async () => Buffer.from(START) },
} as const;
type AssetName = keyof typeof ASSETS;
const ASSET_NAMES = Object.keys(ASSETS) as [AssetName, ...AssetName[]];

const CSP = `default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; ${NO_FRAMING_CSP}`;

export function docsRoutes() {
  const app = createRouter();
  // Read once, on first request: 1.5 MB that most processes never serve.
  const loaded = new Map<AssetName, Promise<Buffer>>();

  app.openapi(
    createRoute({
      method: 'get',
      path: '/docs',
      tags: ['operations'],
      summary: 'This API, interactively (Swagger UI)',
      responses: { 200: { description: 'An HTML page', content: { 'text/html': { schema: z.string() } } } },
    }),
    (c) => c.html(PAGE, 200, { 'content-security-policy': CSP, ...PAGE_SAFETY_HEADERS }),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/docs/{file}',
      tags: ['operations'],
      summary: 'A file of the /docs page',
      request: { params: z.object({ file: z.string().openapi({ param: { name: 'file', in: 'path' }, enum: ASSET_NAMES }) }) },
      responses: {
        200: {
          description: 'The file',
          content: { 'text/css': { schema: z.string() }, 'text/javascript': { schema: z.string() } },
        },
        ...problemResponses(404),
      },
    }),
    async (c) => {
      const name = c.req.valid('param').file;
      if (!Object.hasOwn(ASSETS, name)) throw new ApiError('NotFound', `no file ${name} belongs to /docs`);
      const asset = ASSETS[name as AssetName];
      let body = loaded.get(name as AssetName);
      if (!body) loaded.set(name as AssetName, (body = asset.load()));
      return c.body(new Uint8Array(await body), 200, { 'content-type': asset.type, 'cache-control': 'public, max-age=3600' });
    },
  );

  return app;
}
